"""Real threads for the concurrency tests: each job in a thread of its own, released at once."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask

from nkhr_events.extensions import db


def race(app: Flask, jobs: list[Callable[[], object]]) -> list[BaseException]:
    """Run each job in its own thread, all released together by a barrier, each with its own
    session and transaction (committed when the job returns); returns what they raised."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        with app.app_context():
            try:
                barrier.wait()
                job()
                db.session.commit()
            except BaseException as error:  # noqa: BLE001 - reported to the test
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return errors
