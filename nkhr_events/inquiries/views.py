"""The public contact form: GET/POST /contact and the thank-you page."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from nkhr_events.extensions import db, limiter
from nkhr_events.inquiries.forms import ContactForm
from nkhr_events.inquiries.services import InquiryInput, submit_inquiry
from nkhr_events.web import accepted, current_language, limit_refusal

bp = Blueprint("inquiries", __name__)

#: Per client (IP address), every try; and per email address typed, messages accepted only
#: (a form sent back with a mistake does not count), whichever runs out first.
LIMIT_PER_CLIENT = "5 per minute; 30 per day"
LIMIT_PER_EMAIL = "3 per hour; 10 per day"


def _typed_email() -> str:
    email = request.form.get("email", "").strip().lower()[:254]
    return f"email:{email}" if email else get_remote_address()


@bp.route("/contact", methods=["GET", "POST"])
@limiter.limit(LIMIT_PER_CLIENT, methods=["POST"])
@limiter.limit(
    LIMIT_PER_EMAIL, methods=["POST"], key_func=_typed_email, deduct_when=accepted
)
def contact() -> Response | str:
    """The contact form; a valid message is stored and both emails queued in one commit."""
    form = ContactForm()
    if request.method == "GET":
        form.language.data = current_language()
    if request.method == "POST" and form.website.data:
        # A bot filled the honeypot: answer as if it worked, keep nothing.
        return redirect(url_for(".thanks"), code=303)
    if form.validate_on_submit():
        submit_inquiry(
            InquiryInput(
                name=form.name.data or "",
                email=form.email.data or "",
                subject=form.subject.data or "",
                message=form.message.data or "",
                language=form.language.data,
            )
        )
        db.session.commit()
        return redirect(url_for(".thanks"), code=303)
    return render_template("inquiries/contact.html", form=form)


@bp.errorhandler(429)
def too_many_tries(error: Exception) -> tuple[str, int, dict[str, str]]:
    """Over a limit: the form again with what was typed (nothing is checked or stored) and
    the real wait, in words and in `Retry-After`."""
    text, headers = limit_refusal()
    form = ContactForm()
    form.form_errors.append(text)
    return render_template("inquiries/contact.html", form=form), 429, headers


@bp.get("/contact/thanks")
def thanks() -> str:
    return render_template("inquiries/thanks.html")
