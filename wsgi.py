"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi run`."""

from nkhr_events import create_app

app = create_app()
