"""`flask outbox send | work | status`: deliver the outbox from the command line."""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from types import FrameType

import click
from flask import Flask
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
    """Keep delivering until SIGTERM or SIGINT, which stop it after the current batch."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}

    def log(report: DeliveryReport) -> None:
        click.echo(f"{datetime.now():%Y-%m-%d %H:%M:%S} outbox: {report}")

    click.echo("Outbox worker started; SIGTERM or Ctrl+C stops it after the current batch.")
    try:
        total = run_worker(stop, poll, on_batch=log)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(f"Outbox worker stopped: {total}.")


@outbox_cli.command("status")
def status() -> None:
    """How many messages are in each status."""
    for name, count in status_counts().items():
        click.echo(f"{name:10} {count}")


def init_app(app: Flask) -> None:
    app.cli.add_command(outbox_cli)
