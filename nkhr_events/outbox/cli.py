"""`flask outbox send | work | status`: deliver the outbox from the command line."""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from types import FrameType

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from nkhr_events.outbox.delivery import DeliveryReport, deliver_due, run_worker
from nkhr_events.outbox.services import status_counts

outbox_cli = AppGroup("outbox", help="The email outbox.")


@outbox_cli.command("send")
def send() -> None:
    """Deliver every message that is due, then exit (for cron or a one-off)."""
    report = deliver_due()
    click.echo(f"Outbox: {report}.")


@outbox_cli.command("work")
@click.option("--poll", type=float, default=None, help="Seconds to wait when nothing is due.")
def work(poll: float | None) -> None:
    """Keep delivering until SIGTERM or SIGINT, which stop it after the current batch.

    The batches run in a thread; this one waits for it and receives the signals. The handler
    only notes the signal: had it set the event itself, it could interrupt code holding the
    event's lock on the same thread and wait for that lock forever.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()
    totals: list[DeliveryReport] = []
    errors: list[BaseException] = []

    requested: list[int] = []

    def request_stop(signum: int, frame: FrameType | None) -> None:
        requested.append(signum)

    def log(report: DeliveryReport) -> None:
        click.echo(f"{datetime.now():%Y-%m-%d %H:%M:%S} outbox: {report}")

    def deliver() -> None:
        try:
            with app.app_context():
                totals.append(run_worker(stop, poll, on_batch=log))
        except BaseException as error:  # re-raised below, on the main thread
            errors.append(error)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    click.echo("Outbox worker started; SIGTERM or Ctrl+C stops it after the current batch.")
    worker = threading.Thread(target=deliver, name="outbox-worker")
    try:
        worker.start()
        while worker.is_alive():
            worker.join(timeout=0.2)
            if requested:
                stop.set()
    finally:
        stop.set()
        worker.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if errors:
        raise errors[0]
    click.echo(f"Outbox worker stopped: {totals[0]}.")


@outbox_cli.command("status")
def status() -> None:
    """How many messages are in each status."""
    for name, count in status_counts(admin=True).items():
        click.echo(f"{name:10} {count}")


def init_app(app: Flask) -> None:
    app.cli.add_command(outbox_cli)
