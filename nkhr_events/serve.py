"""`make serve`: gunicorn and the outbox workers, started and stopped together.

`python -m nkhr_events.serve` checks the configuration (a missing SECRET_KEY stops it here, with
the reason, before anything starts), then runs gunicorn with gunicorn.conf.py and OUTBOX_WORKERS
(default 1) `flask outbox work` processes. SIGTERM or SIGINT reaches each of them as SIGTERM,
their graceful stop: gunicorn finishes the requests in progress (SIGINT would make it drop
them), a delivery worker finishes its batch. If one of them dies on its own, the others are
stopped too and the exit status is not 0, so that a supervisor (systemd, Docker) restarts the
whole set. The children run in their own process group, so that Ctrl+C in a terminal reaches
them only through here, as SIGTERM.

Also the access log line gunicorn writes per request (`GunicornLogger`, named in
gunicorn.conf.py): JSON or text like the app's own lines, with the request id and no token.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

from gunicorn.glogging import Logger

from nkhr_events import PROJECT_ROOT
from nkhr_events.logs import REQUEST_ID_HEADER, formatter, log_format, redact

logger = logging.getLogger("nkhr_events.serve")  # also when run as __main__

#: Linux's prctl(PR_SET_PDEATHSIG): the kernel sends the child a signal when we die.
_PR_SET_PDEATHSIG = 1


def web_command() -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--config", str(PROJECT_ROOT / "gunicorn.conf.py")]


def outbox_command() -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "work"]


def _stop_with_parent() -> None:
    """In the child before exec: be stopped (gracefully) if the launcher is killed outright."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: a killed launcher leaves its children to the supervisor


def check_configuration() -> str | None:
    """Why the app cannot start with this environment, or None."""
    from nkhr_events import create_app

    try:
        create_app()
    except (RuntimeError, ValueError) as error:
        return str(error)
    return None


class Launcher:
    """The child processes and their common stop."""

    def __init__(self, commands: dict[str, list[str]]) -> None:
        self.commands = commands
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stop_requested: list[int] = []

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested.append(signum)

    def start(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._request_stop)
        for name, command in self.commands.items():
            self.children[name] = subprocess.Popen(  # noqa: S603  (our own commands)
                command,
                cwd=PROJECT_ROOT,
                start_new_session=True,
                preexec_fn=_stop_with_parent,  # noqa: PLW1509  (no threads here)
            )

    def _stop_children(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def wait(self) -> int:
        """Run until asked to stop or until a child exits; then stop all and wait for them."""
        failed: int | None = None
        while not self.stop_requested:
            ended = [name for name, c in self.children.items() if c.poll() is not None]
            if ended:
                code = self.children[ended[0]].returncode
                failed = code if code and code > 0 else 1
                logger.error("serve: %s exited (status %s); stopping the others", ended[0], code)
                break
            time.sleep(0.2)
        else:
            logger.info("serve: stopping (signal %s)", self.stop_requested[0])
        self._stop_children()
        codes = [child.wait() for child in self.children.values()]
        if failed is not None:
            return failed
        # A child still starting (its handlers not yet set) ends by the signal itself: that is
        # the stop we asked for, not a failure.
        return next((code for code in codes if code not in (0, -signal.SIGTERM)), 0)


def main() -> int:
    problem = check_configuration()
    if problem:
        print(f"serve: cannot start: {problem}", file=sys.stderr)
        return 2
    logger.setLevel(logging.INFO)
    workers = int(os.environ.get("OUTBOX_WORKERS") or 1)
    commands = {"gunicorn": web_command()}
    commands.update({f"outbox worker {n}": outbox_command() for n in range(1, workers + 1)})
    launcher = Launcher(commands)
    launcher.start()
    logger.info("serve: gunicorn and %d outbox worker(s) started", workers)
    return launcher.wait()


class GunicornLogger(Logger):
    """gunicorn's logger with our formats: the access line carries the request id, the method,
    the path with tokens redacted (no query string, no client address, no user agent), the
    status and the duration."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self._format = log_format(os.environ.get("NKHR_LOG_FORMAT"), os.environ.get("NKHR_ENV"))
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    handler.setFormatter(formatter(self._format))

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        status = str(resp.status).split(None, 1)[0]
        headers = {name.lower(): value for name, value in resp.headers}
        method = environ.get("REQUEST_METHOD", "-")
        path = redact(str(environ.get("RAW_URI") or environ.get("PATH_INFO") or "").split("?")[0])
        fields = {
            "request_id": headers.get(REQUEST_ID_HEADER.lower()),
            "method": method,
            "path": path,
            "status": int(status) if status.isdigit() else status,
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
        }
        line = f"{method} {path} {status} {fields['duration_ms']} ms"
        self.access_log.info("%s", line, extra={"fields": fields})


if __name__ == "__main__":
    sys.exit(main())
