"""gunicorn settings for `make serve` (`python -m nkhr_events.serve` starts gunicorn with them).

Tuned from the environment: HOST and PORT (bind), WEB_CONCURRENCY (worker processes, default 2),
NKHR_GRACEFUL_TIMEOUT (seconds a stopping worker gets to finish its requests, default 30) and
NKHR_LOG_FORMAT (json|text). Anything else gunicorn knows can be added with GUNICORN_CMD_ARGS,
e.g. GUNICORN_CMD_ARGS="--threads 4".
"""

from __future__ import annotations

import os
import sys
from typing import Any

wsgi_app = "wsgi:app"
bind = f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"
# Sync workers, one request at a time each: requests are short database work (mail goes out
# through the outbox workers), and the reverse proxy in front buffers slow clients.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
# A request taking longer than this is stuck: its worker is killed and replaced.
timeout = 30
# SIGTERM: stop accepting, let requests in progress finish for up to this long, then exit.
graceful_timeout = int(os.environ.get("NKHR_GRACEFUL_TIMEOUT") or 30)
# A fresh process now and then bounds any slow memory growth; the jitter keeps workers from
# restarting together.
max_requests = 2000
max_requests_jitter = 200

# Load the app once, in the master, before the workers fork. A configuration error (a missing
# SECRET_KEY, a bad setting) then stops gunicorn at once with its message instead of every worker
# failing in a loop, and the workers share the loaded code's memory. Nothing connects at import
# (post_fork drops any database connection regardless). The price: new code needs a restart,
# not a HUP; a deployment restarts anyway.
preload_app = True

# Logs to stderr/stdout for the supervisor (journald, Docker) to collect, formatted like the
# app's lines (JSON or text) by our logger class.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL") or "info"
logger_class = "nkhr_events.serve.GunicornLogger"

# X-Forwarded-* are honoured by the app (ProxyFix with NKHR_TRUSTED_PROXIES) and only there:
# gunicorn itself would otherwise trust X-Forwarded-Proto from any local process.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}

proc_name = "nkhr_events"
# gunicorn's runtime control socket (one path per user, in the home folder) is not used: two
# instances on one host would contend for it.
control_socket_disable = True


def post_fork(server: Any, worker: Any) -> None:
    """A worker must not reuse a database connection opened in the master (the socket would be
    shared between processes): drop the pool's connections, without closing them for the
    master."""
    module = sys.modules.get("wsgi")
    if module is None:
        return
    from nkhr_events.extensions import db

    with module.app.app_context():
        db.engine.dispose(close=False)
