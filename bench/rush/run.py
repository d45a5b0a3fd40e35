"""Registration rush: completed attendee registrations per second under gunicorn, and the CPU
each one costs in the request and in the outbox worker, against the framework's ceiling on the
same machine.

Makes a fresh database (a SQLite file in a temporary folder, or a throwaway PostgreSQL database
on the server --database-url names, dropped afterwards), upgrades it with `flask db upgrade`
and creates published three-day events with registration open, the way organizers do (the
event services). Starts the application under gunicorn (2 sync workers on 127.0.0.1, rate
limits off, no outbox worker in it: every email stays queued until the bench drains it) and
drives the attendee flow as a browser without JavaScript does, from an asyncio load generator
(aiohttp), each virtual attendee with cookies of its own:

    GET  /events/<slug>/register              the category choice (a GET form): parse it, tick
                                              "General public", submit it as the browser would
    GET  /events/<slug>/register?category=…   the form: parse every control, fill in a name, a
                                              unique address, the language, every day and the
                                              privacy consent, keep the rest as the page has it
    POST (the form's action)                  expect 303 to the result page
    GET  /events/<slug>/register/sent         expect the page to name the address (masked)

for --duration seconds at each --concurrency, after a short untimed warm-up. Per phase it
reports completed flows per second, p50 / p95 / p99 of the whole flow, errors, and:

- request CPU per flow: utime + stime of the gunicorn master and workers (/proc/<pid>/stat,
  before and after the timed part);
- worker CPU per flow: afterwards the application's own `flask outbox send` (bench/rush/
  drain.py) delivers everything the phase queued (warm-up included) to a real SMTP server on
  127.0.0.1 (aiosmtpd in this process, MAIL_SERVER / MAIL_PORT), in a process of its own; its
  CPU is read inside that process around the command, so start-up is left out, and divided by
  the flows drained. The whole process's CPU (RUSAGE_CHILDREN) and a second, empty drain (what
  start-up alone costs) are reported beside it as a cross-check;
- total CPU per flow: request + worker; on PostgreSQL also the CPU of the server's backends
  that served the phase and the drain (in neither figure: they are not our processes).

The database is checked before the drain — exactly one new registration and one queued email
saying its outcome per completed flow, nobody over capacity — and after it: every one of those
emails sent, nothing left for the next run, and the SMTP server received one message for each
new registration's address. A capacity-limited event (--capacity seats, rushed by more
attendees at the largest concurrency) must end with exactly `capacity` confirmed and the rest
waitlisted, each with its one email, drained and checked the same way.

--existing 0 10000 50000 runs every concurrency once per size, smallest first: before the
phases of a size, bench/rush/existing.py bulk-inserts that many registrations (days, a mix of
categories and statuses, no emails) into the very events those phases rush, so each is
measured on an event that already holds them, in a database that has grown by every size
before it. The checks count only the rows each phase made. The rushed events have seats for
far more than that: they never fill.

The ceiling (bench/rush/ceiling_app.py) is a minimal Flask application with the same four
pages — a GET choice form, a form with a token from the signed session, a POST that checks the
token, inserts one row and redirects, a result page — on the same gunicorn settings and the same
kind of database, driven by the same load generator. It has no worker: its total CPU is its
request CPU. Each of our phases is compared with it at the same concurrency, and the summary
judges issue 23's targets (the ceiling comparisons on the phases at the smallest --existing).

    .venv/bin/python bench/rush/run.py                                # SQLite, 60 s, 8 and 32
    .venv/bin/python bench/rush/run.py --duration 20 --concurrency 8
    .venv/bin/python bench/rush/run.py --existing 0 10000 50000       # growth
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
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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
from aiosmtpd.controller import Controller

# The application's result page names the address masked (the ceiling's names it whole).
from nkhr_events.registrations.views import mask_address

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent
SECRET_KEY = "rush-" + secrets.token_hex(16)
#: A Fernet key (32 random bytes, URL-safe base64): production does not start without one.
ENCRYPTION_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
#: The targets of issue 23, against the ceiling in the same run: CPU per registration in the
#: request (gunicorn's processes) and in total (request + outbox worker), throughput at
#: concurrency 32, p99 of the flow; and CPU per registration with GROWTH_AT registrations
#: already in the event, against none.
TARGET_REQUEST_CPU = 2.5
TARGET_TOTAL_CPU = 4.0
TARGET_THROUGHPUT = 0.4
TARGET_P99 = 2.0
TARGET_GROWTH = 0.10
GROWTH_AT = 50_000

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
    database_cpu_s: float | None = None  # PostgreSQL's backends; None on SQLite (in-process)

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
            "request_cpu_ms_per_flow": (
                round(self.server_cpu_s * 1000 / self.flows, 2) if self.flows else None
            ),
            "client_cpu_ms_per_flow": (
                round(self.client_cpu_s * 1000 / self.flows, 2) if self.flows else None
            ),
            "database_cpu_ms_per_flow": (
                round(self.database_cpu_s * 1000 / self.flows, 2)
                if self.flows and self.database_cpu_s is not None else None
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
    backends: PostgresBackends | None = None,
) -> tuple[Phase, Phase | None]:
    """A timed phase (after an untimed warm-up at the same concurrency, if any)."""
    warm = None
    if warmup > 0:
        warm = Phase(f"{name} warm-up", concurrency)
        asyncio.run(drive(start_url, warm, f"{label}-w", seconds=warmup))
    phase = Phase(name, concurrency)
    database_before = backends.ticks() if backends is not None else {}
    cpu_before, client_before = server_cpu_seconds(master), time.process_time()
    asyncio.run(drive(start_url, phase, label, seconds=seconds, flows=flows))
    phase.server_cpu_s = server_cpu_seconds(master) - cpu_before
    phase.client_cpu_s = time.process_time() - client_before
    if backends is not None:
        phase.database_cpu_s = backends.seconds_since(database_before)
    return phase, warm


class PostgresBackends:
    """CPU of the PostgreSQL server processes that serve the bench's database.

    Those processes are not gunicorn's, so the request figure leaves them out (on SQLite the
    database works inside gunicorn's processes and is in it). The client backends of the
    database (pg_stat_activity) are read from /proc before and after: pooled connections live
    through a phase; one opened during it counts whole, one closed during it is lost (none are,
    with the pools' settings).
    """

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        self.engine = create_engine(url, poolclass=NullPool)

    def ticks(self) -> dict[int, int]:
        from sqlalchemy import text

        with self.engine.connect() as connection:
            pids = connection.scalars(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )).all()
        return {pid: _ticks(pid) for pid in pids}

    def seconds_since(self, before: dict[int, int]) -> float:
        after = self.ticks()
        used = sum(t - before.get(pid, 0) for pid, t in after.items())
        return used / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.engine.dispose()


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


def _app(url: str, folder: Path) -> Any:
    """The application on the bench's database, for reading it from this process."""
    os.environ["NKHR_INSTANCE_PATH"] = str(folder)
    from nkhr_events import create_app

    return create_app({"SECRET_KEY": SECRET_KEY, "NKHR_ENCRYPTION_KEYS": ENCRYPTION_KEY,
                       "SQLALCHEMY_DATABASE_URI": url})


def highest_registration_id(url: str, folder: Path) -> int:
    """The newest registration's id: a phase's rows are the ones above it."""
    from nkhr_events.extensions import db
    from nkhr_events.registrations.models import Registration

    app = _app(url, folder)
    with app.app_context():
        highest = db.session.scalar(db.select(db.func.max(Registration.id))) or 0
        db.session.remove()
        db.engine.dispose()
    return int(highest)


def database_counts(url: str, folder: Path, slug: str, after_id: int = 0) -> dict[str, Any]:
    """What the database holds for the registrations of one event made after `after_id` (the
    rows a phase made, not the ones filled in before it): registrations by status, their
    emails by the outbox's status and template, their addresses; the seats the whole event
    holds; and the messages of the whole outbox that are not sent."""
    from nkhr_events.events.models import Event
    from nkhr_events.extensions import db
    from nkhr_events.outbox.models import OutboxMessage
    from nkhr_events.registrations.models import SEAT_STATUSES, Registration

    app = _app(url, folder)
    with app.app_context():
        event = db.session.scalar(db.select(Event).where(Event.slug == slug))
        assert event is not None
        new = (Registration.event_id == event.id, Registration.id > after_id)
        statuses = dict(db.session.execute(
            db.select(Registration.status, db.func.count()).where(*new)
            .group_by(Registration.status)
        ).all())
        emails: dict[str, Counter[str]] = {}
        pairs: Counter[str] = Counter()
        for outbox_status, status, template, count in db.session.execute(
            db.select(OutboxMessage.status, Registration.status, OutboxMessage.template,
                      db.func.count())
            .join(Registration, Registration.id == OutboxMessage.registration_id)
            .where(*new)
            .group_by(OutboxMessage.status, Registration.status, OutboxMessage.template)
        ):
            emails.setdefault(outbox_status, Counter())[template] += count
            pairs[f"{outbox_status}: {status} -> {template}"] += count
        emailed = db.session.scalar(
            db.select(db.func.count(db.distinct(OutboxMessage.registration_id)))
            .join(Registration, Registration.id == OutboxMessage.registration_id).where(*new)
        )
        addresses = Counter(
            a.lower() for a in db.session.scalars(db.select(Registration.email).where(*new))
        )
        seats = db.session.scalar(
            db.select(db.func.count()).select_from(Registration).where(
                Registration.event_id == event.id, Registration.status.in_(SEAT_STATUSES)
            )
        )
        unsent = dict(db.session.execute(
            db.select(OutboxMessage.status, db.func.count())
            .where(OutboxMessage.status != "sent").group_by(OutboxMessage.status)
        ).all())
        capacity = event.capacity
        db.session.remove()
        db.engine.dispose()
    return {"capacity": capacity, "statuses": statuses, "seats_held": seats,
            "emails": {k: dict(v) for k, v in emails.items()}, "email_pairs": dict(pairs),
            "registrations_emailed": emailed, "distinct_addresses": len(addresses),
            "addresses": addresses, "outbox_unsent": unsent}


def ceiling_rows(url: str) -> int:
    from sqlalchemy import create_engine, func, select

    from bench.rush.ceiling_app import entry

    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(entry)) or 0
    engine.dispose()
    return count


def fill_event(env: dict[str, str], slug: str, count: int) -> dict[str, Any]:
    """`count` registrations put into the event before its rush, by bench/rush/existing.py in a
    process of its own."""
    done = subprocess.run(
        [sys.executable, str(HERE / "existing.py"), "--slug", slug, "--count", str(count)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"filling {slug} failed:\n{done.stderr[-3000:]}")
    filled: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return filled


# --- the outbox worker and its mail server -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpSink:
    """A real SMTP server on 127.0.0.1 (aiosmtpd, in a thread of this process) that accepts
    every message and counts what it received, by recipient: the far end of the outbox worker."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages = 0
        self.recipients: Counter[str] = Counter()
        self._lock = threading.Lock()  # messages arrive on the server's thread
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.messages += 1
            self.recipients.update(address.lower() for address in envelope.rcpt_tos)
        return "250 Message accepted"

    def received(self) -> tuple[int, Counter[str]]:
        """Messages received so far, and their recipients."""
        with self._lock:
            return self.messages, Counter(self.recipients)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()


@dataclass
class Drain:
    """One run of the application's `flask outbox send` (bench/rush/drain.py)."""

    command_cpu_s: float  # measured inside the process around the command
    startup_cpu_s: float  # inside the process, before the command: imports, create_app()
    process_cpu_s: float  # the whole process, from outside (RUSAGE_CHILDREN)
    database_cpu_s: float | None  # PostgreSQL's backends of the process; None on SQLite
    output: str  # what the command printed


def drain_outbox(env: dict[str, str]) -> Drain:
    """Deliver everything due with the application's own command in a new process and wait."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, str(HERE / "drain.py")], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"`flask outbox send` failed:\n{done.stderr[-3000:]}")
    *output, last = done.stdout.strip().splitlines()
    figures = json.loads(last)
    return Drain(
        command_cpu_s=figures["command_cpu_s"],
        startup_cpu_s=figures["startup_cpu_s"],
        process_cpu_s=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        database_cpu_s=figures.get("database_cpu_s"),
        output=" ".join(output).strip(),
    )


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


#: The email each outcome of a registration receives.
OUTCOME_EMAILS = {"confirmed": "registration_confirmed", "waitlisted": "registration_waitlisted"}


def _expected_emails(statuses: dict[str, int]) -> dict[str, int]:
    return {OUTCOME_EMAILS.get(s, f"(none for {s})"): n for s, n in statuses.items() if n}


def check_event(
    checks: list[dict[str, Any]], counts: dict[str, Any], slug: str, completed: int,
    expect_confirmed: int | None = None,
) -> None:
    """After a phase, before the worker: the phase's rows, queued with the registration."""
    statuses, queued = counts["statuses"], counts["emails"].get("queued", {})
    total = sum(statuses.values())
    check(checks, f"{slug}: one registration per completed flow", total == completed,
          f"{total} new registrations, {completed} flows, {counts['distinct_addresses']} "
          "addresses")
    check(checks, f"{slug}: one email queued with each registration, saying its outcome",
          queued == _expected_emails(statuses)
          and counts["registrations_emailed"] == total == sum(queued.values()),
          f"{counts['email_pairs']}")
    capacity = counts["capacity"]
    check(checks, f"{slug}: no overbooking", capacity is None or counts["seats_held"] <= capacity,
          f"{counts['seats_held']} seats held, capacity {capacity}")
    if expect_confirmed is not None:
        check(checks, f"{slug}: exactly {expect_confirmed} confirmed, the rest waitlisted",
              statuses.get("confirmed", 0) == expect_confirmed
              and statuses.get("waitlisted", 0) == total - expect_confirmed,
              f"{statuses}")


def check_delivery(
    checks: list[dict[str, Any]], counts: dict[str, Any], slug: str, completed: int,
    received: int, recipients: Counter[str], received_later: int,
) -> None:
    """After the worker: every email of the phase sent, and received by the SMTP server."""
    sent = counts["emails"].get("sent", {})
    check(checks, f"{slug}: every email of the phase sent by the worker",
          sum(sent.values()) == completed and sent == _expected_emails(counts["statuses"])
          and counts["registrations_emailed"] == completed,
          f"{sum(sent.values())} sent for {completed} flows: {counts['email_pairs']}")
    check(checks, f"{slug}: nothing left for the next run of the worker",
          not counts["outbox_unsent"] and not received_later,
          f"not sent: {counts['outbox_unsent'] or 'none'}; the next run sent {received_later}")
    check(checks, f"{slug}: the SMTP server received each address's email once",
          received == completed and recipients == counts["addresses"],
          f"{received} messages for {completed} flows, "
          f"{sum((recipients - counts['addresses']).values())} unexpected, "
          f"{sum((counts['addresses'] - recipients).values())} missing")


@dataclass
class Bench:
    """What every phase of our application shares."""

    url: str
    folder: Path
    env: dict[str, str]
    sink: SmtpSink
    checks: list[dict[str, Any]]
    backends: PostgresBackends | None


def rush(
    bench: Bench, master: int, start_url: str, name: str, slug: str, concurrency: int,
    *, existing: int = 0, seconds: float | None = None, flows: int | None = None,
    warmup: float = 0.0, expect_confirmed: int | None = None,
) -> dict[str, Any]:
    """One phase against the application: the rush (request CPU from gunicorn's processes),
    the database checks, then the outbox drained by the worker (worker CPU) and checked
    against what the SMTP server received. Returns the phase's figures."""
    checks = bench.checks
    after_id = highest_registration_id(bench.url, bench.folder)
    phase, warm = run_phase(name, master, start_url, concurrency, slug, seconds=seconds,
                            flows=flows, warmup=warmup, backends=bench.backends)
    completed = phase.flows + (warm.flows if warm else 0)
    counts = database_counts(bench.url, bench.folder, slug, after_id)
    check_event(checks, counts, slug, completed, expect_confirmed)
    check(checks, f"{slug}: no errors", not phase.errors and not (warm and warm.errors),
          f"{dict(phase.errors)} {dict(warm.errors) if warm else ''}")

    received_before, recipients_before = bench.sink.received()
    work = drain_outbox(bench.env)
    received_after, recipients_after = bench.sink.received()
    empty = drain_outbox(bench.env)  # nothing left: what starting the worker costs
    received_last, _recipients = bench.sink.received()
    delivered = database_counts(bench.url, bench.folder, slug, after_id)
    check_delivery(checks, delivered, slug, completed, received_after - received_before,
                   recipients_after - recipients_before, received_last - received_after)

    summary = {"app": "nkhr_events", "existing": existing, **phase.summary(),
               "warmup_flows": warm.flows if warm else 0,
               "warmup_errors": sum(warm.errors.values()) if warm else 0}
    per = 1000 / completed if completed else 0.0
    request = summary["request_cpu_ms_per_flow"]
    worker = round(work.command_cpu_s * per, 2) if completed else None
    summary.update({
        "worker_cpu_ms_per_flow": worker,
        "worker_database_cpu_ms_per_flow": (
            round(work.database_cpu_s * per, 2)
            if completed and work.database_cpu_s is not None else None
        ),
        "total_cpu_ms_per_flow": (
            round(request + worker, 2) if request is not None and worker is not None else None
        ),
        "worker": {
            "messages": received_after - received_before,
            "flows_drained": completed,
            "command_cpu_s": work.command_cpu_s,
            "process_cpu_s": round(work.process_cpu_s, 3),
            "startup_cpu_s": work.startup_cpu_s,
            "empty_drain_process_cpu_s": round(empty.process_cpu_s, 3),
            "empty_drain_command_cpu_s": empty.command_cpu_s,
            "database_cpu_s": work.database_cpu_s,
            "process_minus_empty_ms_per_flow": (
                round((work.process_cpu_s - empty.process_cpu_s) * per, 2) if completed else None
            ),
            "output": work.output,
        },
        "database": {k: v for k, v in delivered.items() if k != "addresses"},
    })
    print(f"  {summary}", file=sys.stderr, flush=True)
    return summary


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    return round(ours / theirs, 2) if ours is not None and theirs else None


def compare(runs: list[dict[str, Any]]) -> None:
    """Each of our phases against the ceiling at the same concurrency, and against our phase
    with no registrations before it (growth). Adds the figures to the runs."""
    ceiling = {r["concurrency"]: r for r in runs if r["app"] == "ceiling"}
    empty = {r["concurrency"]: r for r in runs if r["app"] == "nkhr_events"
             and r["phase"].startswith("rush") and r["existing"] == 0}
    for run in runs:
        if run["app"] != "nkhr_events" or not run["phase"].startswith("rush"):
            continue
        theirs = ceiling.get(run["concurrency"])
        if theirs is not None:
            cpu = theirs["request_cpu_ms_per_flow"]  # the ceiling has no worker: its total
            run["vs_ceiling"] = {
                "throughput": _ratio(run["flows_per_second"], theirs["flows_per_second"]),
                "request_cpu": _ratio(run["request_cpu_ms_per_flow"], cpu),
                "total_cpu": _ratio(run["total_cpu_ms_per_flow"], cpu),
                "p99": _ratio(run["p99_ms"], theirs["p99_ms"]),
            }
        database = _database_cpu(run)
        if database is not None and run["total_cpu_ms_per_flow"] is not None:
            run["with_database_cpu_ms_per_flow"] = round(run["total_cpu_ms_per_flow"] + database, 2)
    for run in runs:
        base = empty.get(run["concurrency"])
        if (run["app"] == "nkhr_events" and run["phase"].startswith("rush")
                and run["existing"] and base is not None):
            run["vs_empty"] = {
                key: (None if run.get(key) is None or not base.get(key)
                      else round(run[key] / base[key] - 1, 3))
                for key in ("request_cpu_ms_per_flow", "total_cpu_ms_per_flow",
                            "with_database_cpu_ms_per_flow")
            }


def judge(
    runs: list[dict[str, Any]], checks: list[dict[str, Any]], capacity: dict[str, Any],
    base_existing: int,
) -> list[dict[str, Any]]:
    """The issue's targets, each with what was measured and whether it is met (None: not
    measured in this run). The ceiling comparisons use the phases with the fewest
    registrations before them (0 unless --existing leaves it out)."""
    targets: list[dict[str, Any]] = []

    def target(name: str, measured: str, met: bool | None) -> None:
        targets.append({"target": name, "measured": measured, "met": met})

    ours = [r for r in runs if r["app"] == "nkhr_events" and r["phase"].startswith("rush")]
    base = [r for r in ours if r["existing"] == base_existing]
    for key, limit, label in (
        ("request_cpu", TARGET_REQUEST_CPU, "request CPU per registration"),
        ("total_cpu", TARGET_TOTAL_CPU, "request + worker CPU per registration"),
        ("p99", TARGET_P99, "p99 of the flow"),
    ):
        for run in base:
            ratio = run.get("vs_ceiling", {}).get(key)
            target(f"{label} ≤ {limit} × the ceiling's (c{run['concurrency']})",
                   "no ceiling" if ratio is None else f"{ratio} ×",
                   None if ratio is None else ratio <= limit)
    at32 = [r for r in base if r["concurrency"] == 32]
    ratio = at32[0].get("vs_ceiling", {}).get("throughput") if at32 else None
    target(f"throughput ≥ {TARGET_THROUGHPUT} × the ceiling's at concurrency 32",
           "not measured" if ratio is None else f"{ratio} ×",
           None if ratio is None else ratio >= TARGET_THROUGHPUT)
    errors = sum(r["errors"] + r.get("warmup_errors", 0) for r in runs)
    target("zero errors", f"{errors}", errors == 0)
    rows = [c for c in checks if "one registration per completed flow" in c["check"]
            or "one row per completed flow" in c["check"]]
    target("rows = completed flows", f"{sum(c['ok'] for c in rows)} of {len(rows)} phases",
           bool(rows) and all(c["ok"] for c in rows))
    exact = [c for c in checks if c["check"].startswith("rush-capacity: exactly")]
    target(f"capacity variant: exactly {capacity.get('capacity', '—')} confirmed",
           exact[0]["detail"] if exact else "not run",
           exact[0]["ok"] if exact else None)
    grown = [r for r in ours if r["existing"] == GROWTH_AT and "vs_empty" in r]
    if not grown:
        target(f"CPU per registration with {GROWTH_AT:,} registrations within "
               f"{TARGET_GROWTH:.0%} of an empty event",
               f"not measured (--existing 0 {GROWTH_AT})", None)
    for run in grown:
        change = run["vs_empty"]
        measured = [v for v in change.values() if v is not None]
        target(f"CPU per registration with {GROWTH_AT:,} registrations within "
               f"{TARGET_GROWTH:.0%} of an empty event (c{run['concurrency']})",
               f"request {_percent(change['request_cpu_ms_per_flow'])}, total "
               f"{_percent(change['total_cpu_ms_per_flow'])}"
               + ("" if change["with_database_cpu_ms_per_flow"] is None else
                  f", with PostgreSQL {_percent(change['with_database_cpu_ms_per_flow'])}"),
               bool(measured) and all(abs(v) <= TARGET_GROWTH for v in measured))
    return targets


def _database_cpu(run: dict[str, Any]) -> float | None:
    """PostgreSQL's CPU per flow, request and worker together (None on SQLite)."""
    parts = [run.get("database_cpu_ms_per_flow"), run.get("worker_database_cpu_ms_per_flow")]
    known = [p for p in parts if p is not None]
    return round(sum(known), 2) if known else None


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1%}"


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def markdown(result: dict[str, Any]) -> str:
    postgres = result["database"] == "PostgreSQL"
    lines = [
        f"### Registration rush — {result['database']}, {result['settings']['server']}",
        "",
        "| App | Existing | Concurrency | Flows | Flows/s | p50 ms | p95 ms | p99 ms | Errors "
        "| Request CPU ms/flow | Worker CPU ms/flow | Total CPU ms/flow | Flows/s × ceiling "
        "| Request CPU × ceiling | Total CPU × ceiling | p99 × ceiling |"
        + (" PostgreSQL CPU ms/flow |" if postgres else ""),
        "|---|" + "---:|" * (16 if postgres else 15),
    ]
    for run in result["runs"]:
        name = run["app"]
        if run["phase"].startswith("capacity"):
            name += f" (capacity {result['capacity']['capacity']})"
        versus = run.get("vs_ceiling", {})
        lines.append(
            f"| {name} | {run.get('existing', '')} | {run['concurrency']} | {run['flows']} "
            f"| {run['flows_per_second']} | {run['p50_ms']} | {run['p95_ms']} | {run['p99_ms']} "
            f"| {run['errors']} | {run['request_cpu_ms_per_flow']} "
            f"| {_cell(run.get('worker_cpu_ms_per_flow'))} "
            f"| {_cell(run.get('total_cpu_ms_per_flow', run['request_cpu_ms_per_flow']))} "
            f"| {_cell(versus.get('throughput'))} | {_cell(versus.get('request_cpu'))} "
            f"| {_cell(versus.get('total_cpu'))} | {_cell(versus.get('p99'))} |"
            + (f" {_cell(_database_cpu(run))} |" if postgres else "")
        )
    lines += [
        "",
        "Outbox worker (`flask outbox send` after each phase, warm-up flows included):",
        "",
        "| Phase | Flows drained | Messages received | Command CPU s | Worker CPU ms/flow "
        "| Process CPU s | Empty drain s | (Process − empty) ms/flow |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in result["runs"]:
        if "worker" in run:
            w = run["worker"]
            lines.append(
                f"| {run['phase']} (existing {run['existing']}) | {w['flows_drained']} "
                f"| {w['messages']} | {w['command_cpu_s']} | {run['worker_cpu_ms_per_flow']} "
                f"| {w['process_cpu_s']} | {w['empty_drain_process_cpu_s']} "
                f"| {_cell(w['process_minus_empty_ms_per_flow'])} |"
            )
    grown = [r for r in result["runs"] if "vs_empty" in r]
    if grown:
        lines += ["", "Growth (the same phase on an event that already holds registrations, "
                  "against the one that held none):", "",
                  "| Concurrency | Existing | Request CPU ms/flow | Change | Total CPU ms/flow "
                  "| Change |" + (" With PostgreSQL's CPU | Change |" if postgres else "")
                  + " p99 ms |", "|" + "---:|" * (9 if postgres else 7)]
        for run in grown:
            change = run["vs_empty"]
            lines.append(
                f"| {run['concurrency']} | {run['existing']} | {run['request_cpu_ms_per_flow']} "
                f"| {_percent(change['request_cpu_ms_per_flow'])} "
                f"| {run['total_cpu_ms_per_flow']} "
                f"| {_percent(change['total_cpu_ms_per_flow'])} |"
                + (f" {_cell(run.get('with_database_cpu_ms_per_flow'))} "
                   f"| {_percent(change['with_database_cpu_ms_per_flow'])} |" if postgres else "")
                + f" {run['p99_ms']} |"
            )
    lines += ["", "| Target (issue 23) | Measured | Met |", "|---|---|---|"]
    for t in result["targets"]:
        met = "not measured" if t["met"] is None else "yes" if t["met"] else "**NO**"
        lines.append(f"| {t['target']} | {t['measured']} | {met} |")
    failed = [c for c in result["checks"] if not c["ok"]]
    lines += ["", f"Database and delivery checks: {len(result['checks']) - len(failed)} of "
              f"{len(result['checks'])} passed."]
    lines += [f"- FAILED {c['check']}: {c['detail']}" for c in failed]
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
    parser.add_argument("--existing", type=int, nargs="+", default=[0],
                        help="registrations already in the rushed event: the rush runs once per "
                             "size at each concurrency, smallest first (e.g. 0 10000 50000)")
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
    fills: list[dict[str, Any]] = []
    sizes = sorted(set(args.existing))
    info = machine()
    with tempfile.TemporaryDirectory(prefix="nkhr-rush-") as tmp, SmtpSink() as sink:
        folder = Path(tmp)
        with throwaway_database(args.database_url or None, folder) as url:
            database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            env = app_environment(url, folder)
            env.update({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(sink.port)})
            print(f"{database}: migrating and creating the events", file=sys.stderr, flush=True)
            upgrade(env)
            slugs = {(c, n): f"rush-c{c}-e{n}" for n in sizes for c in args.concurrency}
            # Room for every registration: the rushed events never fill.
            seats = max(1_000_000, 10 * max(sizes))
            plan: dict[str, int | None] = {slug: seats for slug in slugs.values()}
            plan["rush-capacity"] = args.capacity
            make_events(url, folder, plan)
            backends = PostgresBackends(url) if database == "PostgreSQL" else None
            bench = Bench(url, folder, env, sink, checks, backends)

            with gunicorn("wsgi:app", args.port, env, args) as server:
                base = f"http://127.0.0.1:{args.port}"
                for size in sizes:
                    for concurrency in args.concurrency:
                        slug = slugs[concurrency, size]
                        if size:
                            print(f"filling {slug} with {size} registrations", file=sys.stderr,
                                  flush=True)
                            fills.append(fill_event(env, slug, size))
                    for concurrency in args.concurrency:
                        slug = slugs[concurrency, size]
                        print(f"nkhr_events, concurrency {concurrency}, {size} existing",
                              file=sys.stderr, flush=True)
                        runs.append(rush(
                            bench, server.pid, f"{base}/events/{slug}/register",
                            f"rush c{concurrency}", slug, concurrency, existing=size,
                            seconds=args.duration, warmup=args.warmup,
                        ))
                if not args.skip_capacity:
                    flows = args.capacity_flows or 4 * args.capacity
                    concurrency = max(args.concurrency)
                    print(f"capacity {args.capacity}, {flows} attendees at {concurrency}",
                          file=sys.stderr, flush=True)
                    runs.append(rush(
                        bench, server.pid, f"{base}/events/rush-capacity/register", "capacity",
                        "rush-capacity", concurrency, flows=flows,
                        expect_confirmed=min(args.capacity, flows),
                    ))
                    capacity_result = {"capacity": args.capacity, "attendees": flows,
                                       "concurrency": concurrency,
                                       **runs[-1]["database"]}

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
                            backends=backends,
                        )
                        runs.append({"app": "ceiling", **phase.summary(),
                                     "warmup_errors": sum(warm.errors.values()) if warm else 0})
                        print(f"  {runs[-1]}", file=sys.stderr, flush=True)
                        total += phase.flows + (warm.flows if warm else 0)
                        check(checks, f"ceiling c{concurrency}: no errors",
                              not phase.errors and not (warm and warm.errors),
                              f"{dict(phase.errors)}")
                    rows = ceiling_rows(ceiling_url)
                    check(checks, "ceiling: one row per completed flow", rows == total,
                          f"{rows} rows, {total} flows")
            if backends is not None:
                backends.close()

    compare(runs)
    targets = judge(runs, checks, capacity_result, sizes[0])
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result = {
        "database": database,
        "machine": info,
        "settings": {
            "server": f"gunicorn {args.workers} {args.worker_class} workers"
                      + (f" x {args.threads} threads" if args.threads > 1 else ""),
            "duration_s": args.duration, "warmup_s": args.warmup,
            "concurrency": args.concurrency, "existing": sizes,
        },
        "existing": fills,
        "runs": runs,
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
