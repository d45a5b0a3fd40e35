"""Drain the outbox once with the application's own command, and say what its work cost.

    DATABASE_URL=... SECRET_KEY=... MAIL_SERVER=127.0.0.1 MAIL_PORT=... \\
        .venv/bin/python bench/rush/drain.py

Loads the application as `flask --app wsgi` does (`wsgi.app`) and runs `flask outbox send` —
deliver every message that is due, then exit — through the application's own command group,
whatever that command does (resolve mail requests, write messages from their snapshots,
build and send them). The CPU time of this process (every thread: `time.process_time`) is read
once the application is loaded and again when the command returns, so the figure is the
command's work alone: interpreter start-up, imports and `create_app()` are left out. First-use
costs inside the command (templates compiled, translations read, the first database
connection) are in it, as they are for a `flask outbox send` run from cron.

On PostgreSQL it also reads, from /proc, the CPU of the server processes this process's
connections were served by (those opened since it started; the pool keeps them open): the
database's part of the work, which is in no process of ours.

It prints the command's own output, then one JSON line: start-up and command CPU seconds, and
the database server's CPU seconds (null on SQLite, where the database works in this process).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def database_cpu_s(app: Any, since: float) -> float | None:
    """CPU seconds of the PostgreSQL backends of this database opened since `since` (a Unix
    time): this process's connections, as nothing else connects while the outbox is drained."""
    from sqlalchemy import text

    from nkhr_events.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return None
        pids = db.session.scalars(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND backend_start >= to_timestamp(:since)"
        ), {"since": since}).all()
        db.session.remove()
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> int:
    began = time.time()
    sys.path.insert(0, str(ROOT))
    from flask.cli import ScriptInfo

    from wsgi import app

    started = time.process_time()
    app.cli.main(["outbox", "send"], prog_name="flask", standalone_mode=False,
                 obj=ScriptInfo(create_app=lambda: app))
    finished = time.process_time()
    database = database_cpu_s(app, began)
    sys.stdout.flush()
    print(json.dumps({"startup_cpu_s": round(started, 4),
                      "command_cpu_s": round(finished - started, 4),
                      "database_cpu_s": None if database is None else round(database, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
