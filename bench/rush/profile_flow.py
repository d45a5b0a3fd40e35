"""Where one attendee registration spends its time: the rush's four requests in-process.

Runs the same flow as bench/rush/run.py (same form parsing and filling) through Flask's test
client — no socket, no gunicorn — on a fresh SQLite file (or --database-url, a PostgreSQL
server on which a throwaway database is made), counts the SQL statements of each request, times
each request kind (CPU time), and profiles --flows flows with pyinstrument.

    .venv/bin/python bench/rush/profile_flow.py                  # statements, timings, profile
    .venv/bin/python bench/rush/profile_flow.py --flows 300 --html /tmp/rush.html
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flask.testing import FlaskClient  # noqa: E402
from pyinstrument import Profiler  # noqa: E402
from sqlalchemy import event as sa_event  # noqa: E402

from bench.rush.run import (  # noqa: E402
    TICK,
    app_environment,
    fill_event,
    form_with,
    get_form_url,
    make_events,
    mask_address,
    submission,
    throwaway_database,
    upgrade,
)

STEPS = ("choice", "form", "post", "result")


@contextmanager
def events_database(
    database_url: str, prefix: str, events: dict[str, int | None]
) -> Iterator[tuple[str, dict[str, str], Path]]:
    """A fresh database (a SQLite file, or a throwaway one on `database_url`'s server),
    upgraded, with `events` made (bench/rush/run.py's make_events): its URL, the application's
    environment and the temporary folder, all removed on leaving."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        folder = Path(tmp)
        with throwaway_database(database_url or None, folder) as url:
            env = app_environment(url, folder)
            upgrade(env)
            make_events(url, folder, events)
            yield url, env, folder


def flow(client: FlaskClient, slug: str, n: int, timings: dict[str, list[float]],
         statements: dict[str, int] | None = None, counter: list[str] | None = None) -> None:
    """One attendee through the four pages; raises AssertionError on an unexpected answer."""
    client.delete_cookie("session")
    start = f"http://localhost/events/{slug}/register"

    def timed(step: str, call: Any) -> Any:
        if counter is not None:
            counter.clear()
        began = time.process_time()  # CPU time: the machine may be busy with other work
        wall = time.perf_counter()
        response = call()
        timings[step].append(time.process_time() - began)
        timings.setdefault(f"{step} wall", []).append(time.perf_counter() - wall)
        if statements is not None and counter is not None:
            statements[step] = len(counter)
        return response

    page = timed("choice", lambda: client.get(start)).get_data(as_text=True)
    choice = form_with(page, "get", "category")
    assert choice is not None
    url = get_form_url(start, choice, submission(choice, {"category": "general_public"}))
    page = timed("form", lambda: client.get(url)).get_data(as_text=True)
    form = form_with(page, "post", "email")
    assert form is not None
    email = f"profile-{n}@example.org"
    pairs = submission(form, {"given_name": "Rush", "family_name": f"Attendee {n}",
                              "email": email, "language": "en", "privacy_consent": TICK,
                              "days": TICK})
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    response = timed("post", lambda: client.post(url, data=data))
    assert response.status_code == 303, response.status_code
    page = timed("result", lambda: client.get(urljoin(url, response.headers["Location"])))
    assert mask_address(email) in page.get_data(as_text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=200)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--html", default="", help="also write pyinstrument's HTML report")
    parser.add_argument("--interval", type=float, default=0.001)
    parser.add_argument("--no-profile", action="store_true", help="only count and time")
    parser.add_argument("--existing", type=int, default=0,
                        help="registrations put into the event first (bench/rush/existing.py)")
    args = parser.parse_args()

    with events_database(args.database_url, "nkhr-rush-profile-", {"profile": 1_000_000}) as (
        _url, env, _folder
    ):
        if args.existing:
            print("existing:", fill_event(env, "profile", args.existing))
        os.environ.update(env)
        from nkhr_events import create_app
        from nkhr_events.extensions import db

        app = create_app()
        client = app.test_client()
        statements: list[str] = []
        with app.app_context():
            engine = db.engine
        sa_event.listen(engine, "before_cursor_execute",
                        lambda *a: statements.append(a[2]))
        timings: dict[str, list[float]] = {s: [] for s in STEPS}
        counts: dict[str, int] = {}
        for n in range(20):  # warm: imports, compiled templates and statements
            flow(client, "profile", n, timings, counts, statements)
        print("SQL statements per request:", counts)
        if os.environ.get("RUSH_SHOW_SQL"):
            flow(client, "profile", 99_999, timings, None, None)
            statements.clear()
            flow(client, "profile", 99_998, timings, counts, statements)
        timings = {s: [] for s in STEPS}
        profiler = Profiler(interval=args.interval)
        if not args.no_profile:
            profiler.start()
        for n in range(args.flows):
            flow(client, "profile", 1000 + n, timings)
        if not args.no_profile:
            profiler.stop()
        total = wall_total = 0.0
        for step in STEPS:
            samples, walls = timings[step], timings[f"{step} wall"]
            total += statistics.mean(samples)
            wall_total += statistics.mean(walls)
            print(f"  {step:<8} CPU mean {statistics.mean(samples) * 1000:6.2f} ms  "
                  f"p50 {statistics.median(samples) * 1000:6.2f} ms   "
                  f"wall mean {statistics.mean(walls) * 1000:6.2f} ms")
        print(f"  flow     CPU {total * 1000:6.2f} ms   wall {wall_total * 1000:6.2f} ms "
              "(wall includes the database server's work on PostgreSQL)")
        if args.no_profile:
            pass
        else:
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        if args.html and not args.no_profile:
            Path(args.html).write_text(profiler.output_html())
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
