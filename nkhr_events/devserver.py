"""`make run`: the development server, on one command.

Serves the app with Werkzeug's server (threaded, no debugger: the debugger needs inline script
and must never face a network), with the outbox worker beside it and, in development, a local
mail catcher (see nkhr_events/outbox/background.py).
"""

from __future__ import annotations

import argparse
import os

from nkhr_events import create_app
from nkhr_events.logs import RedactingRequestHandler
from nkhr_events.outbox.background import start_background_delivery


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    # The links in emails and QR codes point where this server answers, unless told otherwise.
    os.environ.setdefault("NKHR_BASE_URL", f"http://{args.host}:{args.port}")
    app = create_app()
    stop_delivery = start_background_delivery(app)
    print(f" * nkhr_events on http://{args.host}:{args.port}/  (Ctrl+C stops)", flush=True)
    print(f" * links in emails point to {app.config['NKHR_BASE_URL']}", flush=True)
    try:
        app.run(
            host=args.host,
            port=args.port,
            debug=False,
            use_reloader=False,
            threaded=True,
            request_handler=RedactingRequestHandler,
        )
    finally:
        stop_delivery()


if __name__ == "__main__":
    main()
