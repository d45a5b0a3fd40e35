"""How far down the registration flow's request CPU can go: the floors under it, in-process.

Issue 23 asks for request CPU per registration within 2.5 × the ceiling's (bench/rush/
ceiling_app.py, a bare Flask app with the same four pages). This script measures, through
Flask's test client on one fresh SQLite file (or --database-url), what each layer under our
flow costs per request, so that the gap can be read layer by layer:

1. the ceiling's four requests;
2. our application's cheapest answers: `/healthz` (every before/after-request hook, no
   template) and an unknown address (the same, plus the layout rendered as a 404 page);
3. our flow as it runs (the same four requests as bench/rush/run.py);
4. an upper bound, not a product path: the same flow with the event, its category settings
   and its seat counts read once and then answered from memory on the three GET pages (what a
   perfect process-wide cache of all three would give; the POST still reads them under the
   seat lock, as it must);
5. where the POST's time goes (cProfile, each part as a share of the POST, scaled to the
   POST's measured CPU time).

Each figure is the mean CPU time (time.process_time) over --flows flows or requests after a
warm-up. Gunicorn's own cost per request (reading, parsing and writing on the socket) comes on
top of every figure here, for us and the ceiling alike; bench/rush/run.py measures it.

    .venv/bin/python bench/rush/floor.py
    .venv/bin/python bench/rush/floor.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.rush import ceiling_app  # noqa: E402
from bench.rush.profile_flow import STEPS, events_database, flow  # noqa: E402

#: The parts of the POST reported from its profile: (label, end of the function's file, its
#: name), read from cProfile's cumulative time of that one function.
POST_PARTS = (
    ("form built (25 fields, choices)", "registrations/views.py", "new_form"),
    ("form validated (CSRF, every field)", "flask_wtf/form.py", "validate_on_submit"),
    ("registration: lock, reads, checks, rows", "registrations/services.py", "register_attendee"),
    ("  of which the seat lock", "registrations/seats.py", "lock_event_seats"),
    ("  of which the email queued (row, snapshot, attachments)", "registrations/notify.py",
     "outcome"),
    ("the ORM's flushes (within the above)", "sqlalchemy/orm/session.py", "flush"),
    ("commit", "sqlalchemy/orm/session.py", "commit"),
)


def mean_ms(samples: list[float]) -> float:
    return round(statistics.mean(samples) * 1000, 3)


def requests_cpu(call: Callable[[], Any], count: int) -> float:
    for _ in range(min(100, count)):
        call()
    samples = []
    for _ in range(count):
        began = time.process_time()
        call()
        samples.append(time.process_time() - began)
    return mean_ms(samples)


def flows_cpu(client: Any, slug: str, count: int, first: int) -> dict[str, float]:
    timings: dict[str, list[float]] = {s: [] for s in STEPS}
    for n in range(20):
        flow(client, slug, first + n, timings)
    timings = {s: [] for s in STEPS}
    for n in range(count):
        flow(client, slug, first + 100 + n, timings)
    found = {step: mean_ms(timings[step]) for step in STEPS}
    found["flow"] = round(sum(found[s] for s in STEPS), 3)
    return found


@contextmanager
def pages_from_memory() -> Iterator[None]:
    """The upper bound of item 4: the GET pages' reads of the event, its settings and its seat
    counts answered from memory after the first. Restored on leaving."""
    from flask import request

    from nkhr_events.extensions import db
    from nkhr_events.registrations import outlook, services, views

    find, settings_of, taken_of = views._find_event, services.category_settings, \
        outlook.seats_taken
    events: dict[str, Any] = {}
    settings: dict[int, Any] = {}
    taken: dict[int, Any] = {}

    def find_event(slug: str) -> Any:
        if request.method != "GET":
            return find(slug)
        if slug not in events:
            event = find(slug)
            event.day_list  # noqa: B018 -- loaded before it leaves the session
            db.session.expunge(event)
            events[slug] = event
        return events[slug]

    def category_settings(event: Any) -> Any:
        if request.method != "GET":
            return settings_of(event)
        if event.id not in settings:
            settings[event.id] = settings_of(event)
        return settings[event.id]

    def seats_taken(event_id: int, now: Any = None) -> Any:
        if event_id not in taken:
            taken[event_id] = taken_of(event_id)
        return taken[event_id]

    views._find_event = find_event
    views.services.category_settings = category_settings  # type: ignore[assignment]
    outlook.seats_taken = seats_taken  # type: ignore[assignment]
    try:
        yield
    finally:
        views._find_event = find
        views.services.category_settings = settings_of  # type: ignore[assignment]
        outlook.seats_taken = taken_of  # type: ignore[assignment]


def post_parts(client: Any, slug: str, count: int, post_ms: float) -> list[tuple[str, float]]:
    """The POST's parts, from cProfile's cumulative times as shares of the POST."""
    profile = cProfile.Profile()
    timings: dict[str, list[float]] = {s: [] for s in STEPS}
    whole = 0.0
    for n in range(count):
        profile.enable()
        flow(client, slug, 500_000 + n, timings)
        profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    by_place: dict[tuple[str, str], float] = {}
    for (filename, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
        if name == "post" and filename.endswith("werkzeug/test.py"):
            whole += cumulative
        for _label, ending, wanted in POST_PARTS:
            if name == wanted and filename.endswith(ending):
                by_place[ending, name] = by_place.get((ending, name), 0.0) + cumulative
    if not whole:
        return []
    return [(label, round(post_ms * by_place.get((ending, name), 0.0) / whole, 2))
            for label, ending, name in POST_PARTS]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=400)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    with events_database(args.database_url, "nkhr-rush-floor-", {"floor": 1_000_000}) as (
        url, env, _folder
    ):
        os.environ.update(env)
        from nkhr_events import create_app
        from nkhr_events.extensions import db

        ceiling_app.create_tables(url)
        ceiling = ceiling_app.create_app(url).test_client()
        ceiling_pages = {
            "choice": requests_cpu(lambda: ceiling.get("/register"), args.flows),
            "form": requests_cpu(
                lambda: ceiling.get("/register/form?category=expert"), args.flows),
            "result": requests_cpu(lambda: ceiling.get("/register/sent"), args.flows),
        }

        def ceiling_post() -> None:
            with ceiling.session_transaction() as kept:
                token = kept.setdefault("csrf", "t" * 43)
            response = ceiling.post("/register/form?category=expert", data={
                "csrf_token": token, "given_name": "Rush", "family_name": "Ceiling",
                "email": "ceiling@example.org", "language": "en",
                "privacy_consent": "y"})
            assert response.status_code == 303, response.status_code

        ceiling_pages["post"] = requests_cpu(ceiling_post, args.flows)
        ceiling_pages["flow"] = round(sum(ceiling_pages[s] for s in STEPS), 3)

        app = create_app()
        client = app.test_client()
        floors = {
            "/healthz (hooks, no template)": requests_cpu(
                lambda: client.get("/healthz"), args.flows),
            "unknown address (hooks + layout, 404)": requests_cpu(
                lambda: client.get("/no-such-page"), args.flows),
        }
        ours = flows_cpu(client, "floor", args.flows, 0)
        with pages_from_memory():
            bound = flows_cpu(client, "floor", args.flows, 100_000)
        parts = post_parts(client, "floor", min(args.flows, 200), ours["post"])
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

    print(f"### Floors under the registration flow, in-process CPU ms "
          f"({'PostgreSQL' if args.database_url else 'SQLite'}, {args.flows} each)\n")
    print("| Request | Ceiling | Ours | Ours, GET pages' reads from memory (bound) |")
    print("|---|---:|---:|---:|")
    for step in (*STEPS, "flow"):
        print(f"| {step} | {ceiling_pages[step]} | {ours[step]} | {bound[step]} |")
    print("\n| Our cheapest answers | CPU ms |\n|---|---:|")
    for label, value in floors.items():
        print(f"| {label} | {value} |")
    print("\n| Part of our POST (cProfile shares × the POST's CPU) | CPU ms |\n|---|---:|")
    for label, value in parts:
        print(f"| {label} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
