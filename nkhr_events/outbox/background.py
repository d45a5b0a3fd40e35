"""Delivery beside the development server: a worker thread and, in development, a mail catcher.

`make run` stays one command: the outbox worker runs in a thread of the same process, and in
development an SMTP catcher on MAIL_SERVER:MAIL_PORT (127.0.0.1:8025 unless configured
otherwise) accepts every message and keeps it under instance/mail/ (MAIL_CATCHER_DIRECTORY)
as .eml files. Nothing
leaves the machine, and staff read every message in the outbox pages either way.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from nkhr_events.outbox.catcher import MailCatcher
from nkhr_events.outbox.delivery import DeliveryReport, run_worker

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def start_mail_catcher(app: Flask) -> MailCatcher | None:
    """In development with a loopback mail server, catch its mail here (unless the port is taken,
    e.g. by a catcher already running: then mail goes to that one)."""
    host, port = app.config["MAIL_SERVER"], int(app.config["MAIL_PORT"])
    if (
        app.config["NKHR_ENV"] != "development"
        or not app.config.get("MAIL_CATCHER", True)
        or host not in LOOPBACK
    ):
        return None
    if not _port_is_free(host, port):
        print(f" * mail: {host}:{port} is already in use; delivering to it", flush=True)
        return None
    folder = Path(app.config.get("MAIL_CATCHER_DIRECTORY") or Path(app.instance_path) / "mail")
    catcher = MailCatcher(host, port, directory=folder).start()
    print(f" * mail: caught on {host}:{port}, kept in {folder}/", flush=True)
    return catcher


def start_background_delivery(app: Flask) -> Callable[[], None]:
    """Start the catcher (development) and a worker thread; returns the function that stops them."""
    catcher = start_mail_catcher(app)
    stop = threading.Event()

    def report(result: DeliveryReport) -> None:
        print(f" * outbox: {result}", flush=True)

    def work() -> None:
        with app.app_context():
            run_worker(stop, on_batch=report)

    worker = threading.Thread(target=work, name="outbox-worker", daemon=True)
    worker.start()
    print(" * outbox: worker started", flush=True)

    def shutdown() -> None:
        stop.set()
        worker.join(timeout=60)
        if catcher is not None:
            catcher.stop()

    return shutdown
