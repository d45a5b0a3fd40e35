"""Periodic tasks: small jobs the long-running outbox worker runs about once a minute.

A domain registers a task with `@periodic_task(name)`; `run_periodic_tasks()` (called by
`run_worker` on every turn of its loop) runs each registered task in a transaction of its own,
at most once per `NKHR_PERIODIC_SECONDS`. A task that fails is logged and rolled back; the
tasks after it and the delivery of mail go on. Tasks must be safe to run by several workers at
once (each worker runs them), e.g. by taking the locks they need and changing rows only under a
condition that still holds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import current_app

from nkhr_events.extensions import db

logger = logging.getLogger(__name__)

#: Seconds between two runs of the tasks in one worker.
DEFAULT_INTERVAL_SECONDS = 60.0

Task = Callable[[], Any]
_TASKS: dict[str, Task] = {}


def periodic_task(name: str) -> Callable[[Task], Task]:
    """Register `task()` under `name`; it adds and flushes, and never commits itself."""

    def register(task: Task) -> Task:
        _TASKS[name] = task
        return task

    return register


def registered_tasks() -> dict[str, Task]:
    return dict(_TASKS)


def _due(now: float) -> bool:
    """Whether this app's tasks are due, and if so note that they run now."""
    state: dict[str, float] = current_app.extensions.setdefault("nkhr_periodic", {})
    interval = float(current_app.config.get("NKHR_PERIODIC_SECONDS", DEFAULT_INTERVAL_SECONDS))
    last = state.get("last_run")
    if last is not None and now - last < interval:
        return False
    state["last_run"] = now
    return True


def run_periodic_tasks(force: bool = False) -> dict[str, bool]:
    """Run every registered task if the interval has passed (or `force`), each committed on
    its own. Returns {name: succeeded} for the tasks run; never raises for a failing task."""
    if not force and not _due(time.monotonic()):
        return {}
    outcome: dict[str, bool] = {}
    for name, task in sorted(_TASKS.items()):
        try:
            task()
            db.session.commit()
        except Exception:
            db.session.rollback()
            logger.exception("Periodic task %s failed; it runs again next time", name)
            outcome[name] = False
        else:
            outcome[name] = True
    return outcome
