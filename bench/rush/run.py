"""Registration rush: completed attendee registrations per second under gunicorn, against the
framework's ceiling on the same machine.

Makes a fresh database (a SQLite file in a temporary folder, or a throwaway PostgreSQL database
on the server --database-url names, dropped afterwards), upgrades it with `flask db upgrade`
and creates published three-day events with registration open, the way organizers do (the
event services). Starts the application under gunicorn (2 sync workers on 127.0.0.1, rate
limits off, no outbox worker: every email stays queued in the outbox) and drives the attendee
flow as a browser without JavaScript does, from an asyncio load generator (aiohttp), each
virtual attendee with cookies of its own:

    GET  /events/<slug>/register              the category choice (a GET form): parse it, tick
                                              "General public", submit it as the browser would
    GET  /events/<slug>/register?category=…   the form: parse every control, fill in a name, a
                                              unique address, the language, every day and the
                                              privacy consent, keep the rest as the page has it
    POST (the form's action)                  expect 303 to the result page
    GET  /events/<slug>/register/sent         expect the page to name the address (masked)

for --duration seconds at each --concurrency, after a short untimed warm-up. It reports
completed flows per second, p50 / p95 / p99 of the whole flow, errors, and the server's CPU
milliseconds per flow (utime + stime of the gunicorn master and workers from /proc/<pid>/stat,
before and after). Then it checks the database: exactly one registration and one queued
confirmation per completed flow, nobody over capacity. A capacity-limited event (--capacity
seats, rushed by more attendees at the largest concurrency) must end with exactly `capacity`
confirmed and the rest waitlisted, each with its one email.

The ceiling (bench/rush/ceiling_app.py) is a minimal Flask application with the same four
pages — a GET choice form, a form with a token from the signed session, a POST that checks the
token, inserts one row and redirects, a result page — on the same gunicorn settings and the same
kind of database, driven by the same load generator. Our throughput is reported as a fraction
of its throughput.

    .venv/bin/python bench/rush/run.py                                # SQLite, 60 s, 8 and 32
    .venv/bin/python bench/rush/run.py --duration 20 --concurrency 8
    .venv/bin/python bench/rush/run.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

JSON and a markdown summary go to stdout (--json FILE also writes the JSON to a file).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import html
import json
import os
import platform
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import aiohttp

# The application's result page names the address masked (the ceiling's names it whole).
from nkhr_events.registrations.views import mask_address

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET_KEY = "rush-" + secrets.token_hex(16)
#: A Fernet key (32 random bytes, URL-safe base64): production does not start without one.
ENCRYPTION_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
#: The issue's targets.
TARGET_RATIO = 0.6
TARGET_CPU_MS = 12.0

# --- what a browser does with a page's forms ----------------------------------------------------

_TAG = re.compile(
    r"<(/?)(form|input|select|option|textarea|button)\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>",
    re.IGNORECASE,
)
_ATTR = re.compile(r"([^\s=/>]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+)))?")
_TEXTAREA_END = re.compile(r"</textarea\s*>", re.IGNORECASE)
_OPTION_END = re.compile(r"</option\s*>|<option\b|</select\s*>", re.IGNORECASE)


def _attrs(text: str) -> dict[str, str]:
    return {
        m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
        for m in _ATTR.finditer(text)
    }


@dataclass
class Control:
    tag: str  # input | select | textarea | button
    attrs: dict[str, str]
    options: list[tuple[str, bool]] = field(default_factory=list)  # select: (value, selected)
    text: str = ""  # textarea content

    @property
    def name(self) -> str:
        return self.attrs.get("name", "")

    @property
    def kind(self) -> str:
        if self.tag == "input":
            return self.attrs.get("type", "text").lower()
        if self.tag == "button":
            return self.attrs.get("type", "submit").lower()
        return self.tag


@dataclass
class Form:
    method: str
    action: str
    controls: list[Control]


def parse_forms(page: str) -> list[Form]:
    """Every form on the page with its controls, in document order."""
    forms: list[Form] = []
    current: Form | None = None
    select: Control | None = None
    for match in _TAG.finditer(page):
        closing, tag, rest = match.group(1), match.group(2).lower(), match.group(3)
        if tag == "form":
            if closing:
                current = None
            else:
                attrs = _attrs(rest)
                current = Form(attrs.get("method", "get").lower(), attrs.get("action", ""), [])
                forms.append(current)
            continue
        if current is None:
            continue
        if tag == "select":
            select = None if closing else Control("select", _attrs(rest))
            if select is not None:
                current.controls.append(select)
        elif tag == "option" and not closing and select is not None:
            attrs = _attrs(rest)
            if "value" in attrs:
                value = attrs["value"]
            else:
                end = _OPTION_END.search(page, match.end())
                value = html.unescape(page[match.end():end.start() if end else None]).strip()
            select.options.append((value, "selected" in attrs))
        elif tag == "textarea" and not closing:
            end = _TEXTAREA_END.search(page, match.end())
            text = html.unescape(page[match.end():end.start() if end else None])
            current.controls.append(Control("textarea", _attrs(rest), text=text.lstrip("\n")))
        elif tag in ("input", "button") and not closing:
            current.controls.append(Control(tag, _attrs(rest)))
    return forms


#: In a fill-in: tick this checkbox (or every checkbox of this name).
TICK = object()


def form_with(page: str, method: str, control: str) -> Form | None:
    """The page's first form sent by `method` that has a control named `control`."""
    return next((f for f in parse_forms(page) if f.method == method
                 and any(c.name == control for c in f.controls)), None)


def submission(form: Form, fill: dict[str, Any]) -> list[tuple[str, str]]:
    """The name/value pairs a browser sends for `form` after the person typed `fill` into it.

    `fill` maps a control name to text (a text field, a select or the radio button to choose),
    or to TICK (check the checkbox, every one of that name). Other controls keep the page's
    values: hidden fields, checked boxes, selected options; the first submit button is used.
    """
    pairs: list[tuple[str, str]] = []
    pressed = False
    for control in form.controls:
        name, kind = control.name, control.kind
        if not name or "disabled" in control.attrs:
            if kind == "submit":
                pressed = True
            continue
        wanted = fill.get(name)
        if kind in ("checkbox", "radio"):
            value = control.attrs.get("value", "on")
            if wanted is None:
                checked = "checked" in control.attrs
            elif wanted is TICK:
                checked = True
            else:
                checked = value == wanted
            if checked:
                pairs.append((name, value))
        elif kind == "submit":
            if not pressed:
                pairs.append((name, control.attrs.get("value", "")))
                pressed = True
        elif kind in ("reset", "button", "image", "file"):
            continue
        elif kind == "select":
            values = [v for v, _ in control.options]
            if wanted is not None and str(wanted) in values:
                pairs.append((name, str(wanted)))
            else:
                chosen = [v for v, selected in control.options if selected]
                if chosen or values:
                    pairs.append((name, (chosen or values)[0]))
        elif kind == "textarea":
            pairs.append((name, str(wanted) if wanted is not None else control.text))
        else:
            typed = str(wanted) if wanted is not None else control.attrs.get("value", "")
            pairs.append((name, typed))
    return pairs


def form_url(page_url: str, form: Form) -> str:
    return urljoin(page_url, form.action) if form.action else page_url


def get_form_url(page_url: str, form: Form, pairs: list[tuple[str, str]]) -> str:
    """Where a GET form goes: its action with the query replaced by the fields."""
    parts = urlsplit(form_url(page_url, form))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(pairs), ""))


# --- the load generator -------------------------------------------------------------------------


class FlowError(Exception):
    """A step of the flow did not answer as a browser expects."""


@dataclass
class Phase:
    name: str
    concurrency: int
    flows: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        per_step = {k: round(statistics.median(v) * 1000, 1) for k, v in self.steps.items() if v}
        return {
            "phase": self.name,
            "concurrency": self.concurrency,
            "flows": self.flows,
            "seconds": round(self.seconds, 2),
            "flows_per_second": round(self.flows / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(percentile(lat, 0.50) * 1000, 1) if lat else None,
            "p95_ms": round(percentile(lat, 0.95) * 1000, 1) if lat else None,
            "p99_ms": round(percentile(lat, 0.99) * 1000, 1) if lat else None,
            "step_p50_ms": per_step,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors.most_common(5)),
            "server_cpu_ms_per_flow": (
                round(self.server_cpu_s * 1000 / self.flows, 2) if self.flows else None
            ),
            "client_cpu_ms_per_flow": (
                round(self.client_cpu_s * 1000 / self.flows, 2) if self.flows else None
            ),
        }


def percentile(ordered: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks of sorted samples."""
    rank = (len(ordered) - 1) * fraction
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


async def _page(
    http: aiohttp.ClientSession, method: str, url: str, data: Any = None
) -> tuple[int, str, str]:
    async with http.request(method, url, data=data, allow_redirects=False) as response:
        body = await response.text()
        return response.status, response.headers.get("Location", ""), body


async def one_flow(
    http: aiohttp.ClientSession, start_url: str, email: str, n: int, steps: dict[str, list[float]]
) -> None:
    """One attendee, from the category choice to the result page. Raises FlowError."""
    clock = time.perf_counter
    t0 = clock()
    status, _loc, page = await _page(http, "GET", start_url)
    if status != 200:
        raise FlowError(f"choice page: HTTP {status}")
    choice = form_with(page, "get", "category")
    if choice is None:
        raise FlowError("choice page: no category form")
    chosen = submission(choice, {"category": "general_public"})
    form_page_url = get_form_url(start_url, choice, chosen)
    t1 = clock()
    status, _loc, page = await _page(http, "GET", form_page_url)
    if status != 200:
        raise FlowError(f"form page: HTTP {status}")
    form = form_with(page, "post", "email")
    if form is None:
        raise FlowError("form page: no registration form")
    fill = {
        "given_name": "Rush",
        "family_name": f"Attendee {n}",
        "email": email,
        "language": "en",
        "privacy_consent": TICK,
        "days": TICK,
    }
    t2 = clock()
    status, location, page = await _page(
        http, "POST", form_url(form_page_url, form), data=submission(form, fill)
    )
    if status != 303 or not location:
        found = re.search(r'class="error-message"[^>]*>(.*?)</p>', page, re.S)
        raise FlowError(f"submit: HTTP {status}" + (f" ({found.group(1)[:80]})" if found else ""))
    t3 = clock()
    status, _loc, page = await _page(http, "GET", urljoin(form_page_url, location))
    if status != 200 or (mask_address(email) not in page and email not in page):
        raise FlowError(f"result page: HTTP {status}" + ("" if status != 200 else ", no address"))
    t4 = clock()
    for name, took in (("choice", t1 - t0), ("form", t2 - t1), ("post", t3 - t2),
                       ("result", t4 - t3)):
        steps.setdefault(name, []).append(took)


async def drive(
    start_url: str,
    phase: Phase,
    label: str,
    *,
    seconds: float | None = None,
    flows: int | None = None,
) -> None:
    """Run attendees `phase.concurrency` at a time until `seconds` pass or `flows` are started."""
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=120)
    deadline = time.perf_counter() + seconds if seconds is not None else None
    started = 0

    def next_number() -> int | None:
        nonlocal started
        if deadline is not None and time.perf_counter() >= deadline:
            return None
        if flows is not None and started >= flows:
            return None
        started += 1
        return started

    async def attendee(worker: int) -> None:
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1 too
        async with aiohttp.ClientSession(
            connector=connector, connector_owner=False, cookie_jar=jar, timeout=timeout
        ) as http:
            while (n := next_number()) is not None:
                jar.clear()  # a new browser for every attendee
                email = f"{label}-{n}@example.org"
                began = time.perf_counter()
                try:
                    await one_flow(http, start_url, email, n, phase.steps)
                except FlowError as error:
                    phase.errors[str(error)] += 1
                except (aiohttp.ClientError, TimeoutError) as error:
                    phase.errors[type(error).__name__] += 1
                else:
                    phase.latencies.append(time.perf_counter() - began)
                    phase.flows += 1

    began = time.perf_counter()
    try:
        await asyncio.gather(*(attendee(w) for w in range(phase.concurrency)))
    finally:
        await connector.close()
    phase.seconds = time.perf_counter() - began


# --- servers ------------------------------------------------------------------------------------


def _ticks(pid: int) -> int:
    """utime + stime of a live process, and cutime + cstime of its reaped children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    # After the ")": field 3 is index 0, so utime (14) is 11, stime 12, cutime 13, cstime 14.
    return sum(int(v) for v in fields[11:15])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def server_cpu_seconds(master: int) -> float:
    """CPU time the gunicorn master and its workers have used so far."""
    ticks = _ticks(master) + sum(_ticks(child) for child in _children(master))
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def gunicorn(
    target: str, port: int, env: dict[str, str], args: argparse.Namespace
) -> Iterator[subprocess.Popen[bytes]]:
    command = [
        # gunicorn would read ./gunicorn.conf.py (the deployment's: access log, preloading,
        # worker recycling): only the settings named here apply unless --gunicorn-config.
        str(BIN / "gunicorn"), "--config", args.gunicorn_config,
        "--workers", str(args.workers), "--worker-class", args.worker_class,
        "--bind", f"127.0.0.1:{port}", "--backlog", "2048", "--log-level", "warning", target,
    ]
    if args.threads > 1:
        command[1:1] = ["--threads", str(args.threads)]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited with {server.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                    break
            except urllib.error.HTTPError:
                break  # answering (a 404 is an answer)
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not answer within 60 s") from None
                time.sleep(0.2)
        # Let both workers finish importing before anything is measured.
        while len(_children(server.pid)) < args.workers and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_phase(
    name: str, master: int, start_url: str, concurrency: int, label: str,
    *, seconds: float | None = None, flows: int | None = None, warmup: float = 0.0,
) -> tuple[Phase, Phase | None]:
    """A timed phase (after an untimed warm-up at the same concurrency, if any)."""
    warm = None
    if warmup > 0:
        warm = Phase(f"{name} warm-up", concurrency)
        asyncio.run(drive(start_url, warm, f"{label}-w", seconds=warmup))
    phase = Phase(name, concurrency)
    cpu_before, client_before = server_cpu_seconds(master), time.process_time()
    asyncio.run(drive(start_url, phase, label, seconds=seconds, flows=flows))
    phase.server_cpu_s = server_cpu_seconds(master) - cpu_before
    phase.client_cpu_s = time.process_time() - client_before
    return phase, warm


# --- databases ----------------------------------------------------------------------------------


@contextmanager
def throwaway_database(server_url: str | None, folder: Path) -> Iterator[str]:
    """A SQLite file in `folder`, or a new PostgreSQL database (dropped afterwards)."""
    if not server_url:
        yield f"sqlite:///{folder / 'rush.sqlite3'}"
        return
    from sqlalchemy import create_engine, text

    from nkhr_events.config import database_url

    parts = urlsplit(database_url(server_url))
    name = f"nkhr_rush_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(
        urlunsplit((*parts[:2], "/postgres", "", "")), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit((*parts[:2], f"/{name}", parts.query, ""))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def app_environment(url: str, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NKHR_", "MAIL_"))}
    env.update({
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "NKHR_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "NKHR_ENV": "production",
        "NKHR_INSTANCE_PATH": str(folder),
        "RATELIMIT_ENABLED": "false",
        "NKHR_MAIL_CATCHER": "false",
        "NKHR_BASE_URL": "https://events.example.org",
    })
    env.pop("FLASK_APP", None)
    return env


def upgrade(env: dict[str, str]) -> None:
    subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )


def make_events(url: str, folder: Path, plan: dict[str, int | None]) -> None:
    """Published three-day events, registration open since yesterday, made through the event
    services as an organizer makes them (the category settings are the defaults: "General
    public" open, no review)."""
    os.environ["NKHR_INSTANCE_PATH"] = str(folder)
    from nkhr_events import create_app
    from nkhr_events.audit.services import SYSTEM
    from nkhr_events.dbtypes import utcnow
    from nkhr_events.events import services
    from nkhr_events.events.models import EventStatus, Series
    from nkhr_events.extensions import db
    from nkhr_events.registrations.services import change_capacity

    app = create_app({"SECRET_KEY": SECRET_KEY, "NKHR_ENCRYPTION_KEYS": ENCRYPTION_KEY,
                      "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        series = Series(slug="rush", name="Registration rush")
        db.session.add(series)
        db.session.flush()
        first = utcnow().date() + timedelta(days=60)
        for slug, capacity in plan.items():
            event = services.create_event(services.EventInput(
                series_id=series.id,
                title=f"International Conference on NKHR ({slug})",
                title_ko=f"북한인권 국제회의 ({slug})",
                slug=slug,
                days=[first + timedelta(days=i) for i in range(3)],
                city="Seoul", city_ko="서울", country="KR", timezone="Asia/Seoul",
                venue="Press Center", capacity=capacity,
                registration_opens_at=utcnow() - timedelta(days=1),
                registration_closes_at=utcnow() + timedelta(days=30),
            ), change_capacity, actor=SYSTEM)
            services.change_event_status(event, EventStatus.PUBLISHED, actor=SYSTEM)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def database_counts(url: str, folder: Path, slug: str) -> dict[str, Any]:
    """What the database holds for one event: registrations by status, their emails."""
    os.environ["NKHR_INSTANCE_PATH"] = str(folder)
    from nkhr_events import create_app
    from nkhr_events.events.models import Event
    from nkhr_events.extensions import db
    from nkhr_events.outbox.models import OutboxMessage
    from nkhr_events.registrations.models import Registration

    app = create_app({"SECRET_KEY": SECRET_KEY, "NKHR_ENCRYPTION_KEYS": ENCRYPTION_KEY,
                      "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        event = db.session.scalar(db.select(Event).where(Event.slug == slug))
        assert event is not None
        statuses = dict(db.session.execute(
            db.select(Registration.status, db.func.count())
            .where(Registration.event_id == event.id).group_by(Registration.status)
        ).all())
        emails = dict(db.session.execute(
            db.select(OutboxMessage.template, db.func.count())
            .join(Registration, Registration.id == OutboxMessage.registration_id)
            .where(Registration.event_id == event.id, OutboxMessage.status == "queued")
            .group_by(OutboxMessage.template)
        ).all())
        distinct = db.session.scalar(
            db.select(db.func.count(db.distinct(Registration.email_key)))
            .where(Registration.event_id == event.id)
        )
        capacity = event.capacity
        db.session.remove()
        db.engine.dispose()
    return {"capacity": capacity, "statuses": statuses, "queued_emails": emails,
            "distinct_addresses": distinct}


def ceiling_rows(url: str) -> int:
    from sqlalchemy import create_engine, func, select

    from bench.rush.ceiling_app import entry

    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(entry)) or 0
    engine.dispose()
    return count


# --- the run ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def check(checks: list[dict[str, Any]], what: str, ok: bool, detail: str) -> None:
    checks.append({"check": what, "ok": ok, "detail": detail})
    print(f"  {'ok ' if ok else 'FAIL'} {what}: {detail}", file=sys.stderr, flush=True)


def check_event(
    checks: list[dict[str, Any]], counts: dict[str, Any], slug: str, completed: int,
    expect_confirmed: int | None = None,
) -> None:
    statuses, emails = counts["statuses"], counts["queued_emails"]
    total = sum(statuses.values())
    check(checks, f"{slug}: one registration per completed flow", total == completed,
          f"{total} registrations, {completed} flows, {counts['distinct_addresses']} addresses")
    check(checks, f"{slug}: one queued email per registration", sum(emails.values()) == total,
          f"{emails}")
    seats = statuses.get("confirmed", 0) + statuses.get("pending", 0)
    capacity = counts["capacity"]
    check(checks, f"{slug}: no overbooking", capacity is None or seats <= capacity,
          f"{seats} seats held, capacity {capacity}")
    expected_emails = {"registration_confirmed": statuses.get("confirmed", 0),
                       "registration_waitlisted": statuses.get("waitlisted", 0)}
    check(checks, f"{slug}: each email says its registration's outcome",
          {k: v for k, v in expected_emails.items() if v} == emails, f"{statuses}")
    if expect_confirmed is not None:
        check(checks, f"{slug}: exactly {expect_confirmed} confirmed, the rest waitlisted",
              statuses.get("confirmed", 0) == expect_confirmed
              and statuses.get("waitlisted", 0) == total - expect_confirmed,
              f"{statuses}")


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"### Registration rush — {result['database']}, {result['settings']['server']}",
        "",
        "| App | Concurrency | Flows | Flows/s | p50 ms | p95 ms | p99 ms | Errors | "
        "Server CPU ms/flow | Ratio to ceiling |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in result["runs"]:
        name, ratio = run["app"], None
        if run["phase"].startswith("capacity"):
            name += f" (capacity {result['capacity']['capacity']})"
        elif run["app"] == "nkhr_events":
            ratio = result["ratios"].get(str(run["concurrency"]))
        lines.append(
            f"| {name} | {run['concurrency']} | {run['flows']} | {run['flows_per_second']} "
            f"| {run['p50_ms']} | {run['p95_ms']} | {run['p99_ms']} | {run['errors']} "
            f"| {run['server_cpu_ms_per_flow']} | {'' if ratio is None else ratio} |"
        )
    failed = [c for c in result["checks"] if not c["ok"]]
    lines += ["", f"Database checks: {len(result['checks']) - len(failed)} of "
              f"{len(result['checks'])} passed."]
    lines += [f"- FAILED {c['check']}: {c['detail']}" for c in failed]
    lines += [f"- target {t}" for t in result["targets"]]
    machine = result["machine"]
    lines.append(f"- machine: {machine['cores']} cores, {machine['cpu']}, Python "
                 f"{machine['python']}, load average {machine['load_average_at_start'][0]} "
                 f"at the start, {machine['load_average_at_end'][0]} at the end")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="",
                        help="a PostgreSQL server (a throwaway database is made on it); "
                             "default: a new SQLite file")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per concurrency")
    parser.add_argument("--warmup", type=float, default=5.0, help="untimed seconds before each")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--capacity", type=int, default=50, help="seats of the limited event")
    parser.add_argument("--capacity-flows", type=int, default=0,
                        help="attendees rushing it (default: 4 x capacity)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--gunicorn-config", default="/dev/null",
                        help="a gunicorn settings file (default: none, gunicorn's defaults)")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--ceiling-port", type=int, default=8102)
    parser.add_argument("--skip-ceiling", action="store_true")
    parser.add_argument("--skip-capacity", action="store_true")
    parser.add_argument("--json", default="", help="also write the JSON result to this file")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    checks: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    capacity_result: dict[str, Any] = {}
    info = machine()
    with tempfile.TemporaryDirectory(prefix="nkhr-rush-") as tmp:
        folder = Path(tmp)
        with throwaway_database(args.database_url or None, folder) as url:
            database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            env = app_environment(url, folder)
            print(f"{database}: migrating and creating the events", file=sys.stderr, flush=True)
            upgrade(env)
            slugs = {c: f"rush-c{c}" for c in args.concurrency}
            plan: dict[str, int | None] = {slug: 1_000_000 for slug in slugs.values()}
            plan["rush-capacity"] = args.capacity
            make_events(url, folder, plan)

            with gunicorn("wsgi:app", args.port, env, args) as server:
                base = f"http://127.0.0.1:{args.port}"
                for concurrency, slug in slugs.items():
                    print(f"nkhr_events, concurrency {concurrency}", file=sys.stderr, flush=True)
                    phase, warm = run_phase(
                        f"rush c{concurrency}", server.pid, f"{base}/events/{slug}/register",
                        concurrency, slug, seconds=args.duration, warmup=args.warmup,
                    )
                    runs.append({"app": "nkhr_events", **phase.summary()})
                    print(f"  {runs[-1]}", file=sys.stderr, flush=True)
                    completed = phase.flows + (warm.flows if warm else 0)
                    counts = database_counts(url, folder, slug)
                    check_event(checks, counts, slug, completed)
                    check(checks, f"{slug}: no errors",
                          not phase.errors and not (warm and warm.errors),
                          f"{dict(phase.errors)} {dict(warm.errors) if warm else ''}")
                if not args.skip_capacity:
                    rush = args.capacity_flows or 4 * args.capacity
                    concurrency = max(args.concurrency)
                    print(f"capacity {args.capacity}, {rush} attendees at {concurrency}",
                          file=sys.stderr, flush=True)
                    phase, _warm = run_phase(
                        "capacity", server.pid, f"{base}/events/rush-capacity/register",
                        concurrency, "rush-capacity", flows=rush,
                    )
                    runs.append({"app": "nkhr_events", **phase.summary()})
                    counts = database_counts(url, folder, "rush-capacity")
                    capacity_result = {"capacity": args.capacity, "attendees": rush,
                                       "concurrency": concurrency, **counts}
                    check_event(checks, counts, "rush-capacity", phase.flows,
                                expect_confirmed=min(args.capacity, phase.flows))
                    check(checks, "rush-capacity: no errors", not phase.errors,
                          f"{dict(phase.errors)}")

            if not args.skip_ceiling:
                from bench.rush.ceiling_app import create_tables

                ceiling_url = url if database == "PostgreSQL" else (
                    f"sqlite:///{folder / 'ceiling.sqlite3'}"
                )
                from nkhr_events.config import database_url

                ceiling_url = database_url(ceiling_url)
                create_tables(ceiling_url)
                ceiling_env = {**env, "CEILING_DATABASE_URL": ceiling_url}
                with gunicorn("bench.rush.ceiling_app:app", args.ceiling_port, ceiling_env,
                              args) as server:
                    total = 0
                    for concurrency in args.concurrency:
                        print(f"ceiling, concurrency {concurrency}", file=sys.stderr, flush=True)
                        phase, warm = run_phase(
                            f"ceiling c{concurrency}", server.pid,
                            f"http://127.0.0.1:{args.ceiling_port}/register", concurrency,
                            f"ceiling-c{concurrency}", seconds=args.duration, warmup=args.warmup,
                        )
                        runs.append({"app": "ceiling", **phase.summary()})
                        print(f"  {runs[-1]}", file=sys.stderr, flush=True)
                        total += phase.flows + (warm.flows if warm else 0)
                        check(checks, f"ceiling c{concurrency}: no errors",
                              not phase.errors and not (warm and warm.errors),
                              f"{dict(phase.errors)}")
                    rows = ceiling_rows(ceiling_url)
                    check(checks, "ceiling: one row per completed flow", rows == total,
                          f"{rows} rows, {total} flows")

    ours = {r["concurrency"]: r for r in runs if r["app"] == "nkhr_events"
            and r["phase"].startswith("rush")}
    ceiling = {r["concurrency"]: r for r in runs if r["app"] == "ceiling"}
    ratios = {str(c): round(ours[c]["flows_per_second"] / ceiling[c]["flows_per_second"], 2)
              for c in ours if c in ceiling and ceiling[c]["flows_per_second"]}
    targets = []
    for c, run in ours.items():
        cpu = run["server_cpu_ms_per_flow"]
        ratio = ratios.get(str(c))
        met = (cpu is not None and cpu <= TARGET_CPU_MS and run["errors"] == 0
               and (ratio is None or ratio >= TARGET_RATIO))
        targets.append(f"c{c}: ratio {ratio} (>= {TARGET_RATIO}), {cpu} ms CPU/flow "
                       f"(<= {TARGET_CPU_MS}), {run['errors']} errors: "
                       f"{'met' if met else 'NOT met'}")
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result = {
        "database": database,
        "machine": info,
        "settings": {
            "server": f"gunicorn {args.workers} {args.worker_class} workers"
                      + (f" x {args.threads} threads" if args.threads > 1 else ""),
            "duration_s": args.duration, "warmup_s": args.warmup,
            "concurrency": args.concurrency,
        },
        "runs": runs,
        "ratios": ratios,
        "capacity": capacity_result,
        "checks": checks,
        "targets": targets,
        "ok": all(c["ok"] for c in checks),
    }
    text = json.dumps(result, indent=2, default=str)
    print(text)
    print()
    print(markdown(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
