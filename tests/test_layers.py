"""The layer contracts (pyproject.toml, checked by `lint-imports` in `make lint`) name every
module, so a module added later cannot slip past them unnoticed."""

from __future__ import annotations

import tomllib

from nkhr_events import PROJECT_ROOT

#: Root modules that wire the application together (they may import anything).
WIRING = {"__init__", "cli", "devserver", "models", "ops", "pagecache", "serve", "web"}
TOP = {"views", "manage", "cli"}
#: Further view modules of a package are named for what they show: `team_manage`,
#: `twofactor_views`.
TOP_SUFFIXES = ("_manage", "_views")


def contracts() -> dict[str, dict[str, list[str]]]:
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_every_module_is_named_by_a_layer_contract() -> None:
    package = PROJECT_ROOT / "nkhr_events"
    domain, web, infrastructure = set(), set(), set()
    for path in package.glob("*/*.py"):
        if path.stem == "__init__":
            continue
        name = f"nkhr_events.{path.parent.name}.{path.stem}"
        is_web = path.stem in TOP or path.stem.endswith(TOP_SUFFIXES)
        (web if is_web else domain).add(name)
    for path in package.glob("*.py"):
        if path.stem not in WIRING:
            infrastructure.add(f"nkhr_events.{path.stem}")
    domains = {f"nkhr_events.{p.parent.name}" for p in package.glob("*/__init__.py")}

    layers = contracts()
    views = layers["Domain modules never import views, staff pages or CLI commands"]
    assert set(views["source_modules"]) == domain
    assert set(views["forbidden_modules"]) == web
    shared = layers["Shared infrastructure imports no domain package"]
    assert set(shared["source_modules"]) == infrastructure
    assert set(shared["forbidden_modules"]) == domains
