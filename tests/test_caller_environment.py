"""The tests do not depend on the environment they are started from: conftest removes the
variables the app reads before anything reads them. Proved by running, with a caller's shell
that sets them all wrong, the tests that compare what they set (the team's address, the mail
server, the development mail catcher)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import APP_VARIABLES, HARNESS_VARIABLES, ON_POSTGRES, app_variables

from nkhr_events import PROJECT_ROOT

#: A shell set up for some other deployment: every one of these would change a test's app.
CALLERS_SHELL = {
    "MAIL_SERVER": "mail.invalid",
    "MAIL_PORT": "1",
    "NKHR_TEAM_EMAIL": "x@y",
    "DATABASE_URL": "sqlite:////nonexistent/x",
    "NKHR_BASE_URL": "http://elsewhere",
    "SECRET_KEY": "the-callers-secret-key",
    "NKHR_ENCRYPTION_KEYS": "garbage",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1",
    "NKHR_INSTANCE_PATH": "/dev/null/instance",
    "FLASK_DEBUG": "1",
}

#: Tests that failed when the caller's shell set MAIL_SERVER, MAIL_PORT or NKHR_TEAM_EMAIL.
SENSITIVE_TESTS = [
    "tests/test_contact.py::test_a_message_is_stored_and_both_emails_are_queued_together",
    "tests/test_contact.py::test_when_mail_is_down_the_inquiry_is_kept_and_mail_follows_later",
    "tests/test_outbox_background.py::"
    "test_development_delivery_catches_mail_locally_and_stops_cleanly",
    "tests/test_partners.py::"
    "test_application_is_stored_with_acknowledgement_and_team_notice_in_the_right_languages",
    "tests/test_public_pages.py::"
    "test_participation_page_names_every_category_and_the_privacy_notice_the_contact",
]


def test_every_variable_the_app_reads_counts_as_the_apps_and_none_reaches_the_tests() -> None:
    assert set(CALLERS_SHELL) <= set(app_variables(CALLERS_SHELL))
    assert set(app_variables({name: "x" for name in APP_VARIABLES})) == APP_VARIABLES
    assert app_variables({name: "1" for name in HARNESS_VARIABLES}) == []
    assert app_variables({"TEST_DATABASE_URL": "x", "CHROMIUM_PATH": "x", "PATH": "x"}) == []
    assert app_variables(os.environ) == []


def test_tests_pass_whatever_the_callers_shell_sets(request: pytest.FixtureRequest) -> None:
    env = {**os.environ, **CALLERS_SHELL}
    if ON_POSTGRES:
        # The same server, but a database of their own: their session builds and drops the
        # schema, which would take this session's tables away.
        env["TEST_DATABASE_URL"] = request.getfixturevalue("throwaway_postgres")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SENSITIVE_TESTS],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{len(SENSITIVE_TESTS)} passed" in result.stdout.splitlines()[-1]
