"""Operations: health checks for a load balancer or orchestrator, and the reverse proxy setting.

`/healthz` answers while the process can serve at all (no database: a database outage must not
make every process look dead and get restarted). `/readyz` answers 200 only when the database is
reachable and its schema is at the newest migration, so traffic reaches a process only once it
can handle it. Both are plain GETs: no rate limit (probes come often, from one address), no
CSRF token, no session cookie, no audit entry.
"""

from __future__ import annotations

import functools
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from nkhr_events.extensions import db, limiter

bp = Blueprint("ops", __name__)


def _answer(body: dict[str, Any], status: int) -> tuple[Response, int]:
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, status


@bp.get("/healthz")
@limiter.exempt
def healthz() -> tuple[Response, int]:
    """The process is up and answers requests."""
    return _answer({"status": "ok"}, 200)


@bp.get("/readyz")
@limiter.exempt
def readyz() -> tuple[Response, int]:
    """The database answers and has the schema this code expects; else 503 with the reason."""
    reason = not_ready_reason()
    if reason:
        return _answer({"status": "unavailable", "reason": reason}, 503)
    return _answer({"status": "ok"}, 200)


@functools.cache
def _expected_heads(directory: str) -> frozenset[str]:
    """The newest migration(s) in the checkout; read once per process."""
    return frozenset(ScriptDirectory(directory).get_heads())


def not_ready_reason() -> str | None:
    """Why this process should not get traffic now, or None."""
    expected = _expected_heads(current_app.extensions["migrate"].directory)
    try:
        with db.engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        # The details (host, driver message) go to the log, not to whoever asks.
        current_app.logger.warning("Readiness: database unreachable: %s", error)
        return "database unreachable"
    if current != expected:
        found = ", ".join(sorted(current)) or "none"
        wanted = ", ".join(sorted(expected))
        return f"database schema at revision {found}, expected {wanted} (run flask db upgrade)"
    return None


def init_app(app: Flask) -> None:
    """Register the checks; behind NKHR_TRUSTED_PROXIES proxies, believe their X-Forwarded-*.

    Each proxy appends the address it got the request from to X-Forwarded-For, so with N trusted
    proxies the Nth address from the right is the client's; anything further left was sent by
    the client and is ignored. With 0 (no proxy, the default) the headers are ignored entirely:
    otherwise anyone could pick the address rate limits count by, or claim HTTPS.
    """
    app.register_blueprint(bp)
    proxies = int(app.config.get("NKHR_TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
