"""Public partner pages: the application form per event, a page per partner, approved logos."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from nkhr_events.dbtypes import utcnow
from nkhr_events.events import services as event_services
from nkhr_events.events.models import Event, EventStatus
from nkhr_events.extensions import db, limiter
from nkhr_events.partners import logos, services
from nkhr_events.partners.forms import ApplicationForm, choices
from nkhr_events.partners.models import Partnership
from nkhr_events.web import country_choices, current_language, partner_actor

bp = Blueprint("partners", __name__)

#: Per client (IP address), and per email address typed, whichever runs out first.
LIMIT_PER_CLIENT = "5 per minute; 30 per day"
LIMIT_PER_EMAIL = "3 per hour; 10 per day"


def _typed_email() -> str:
    email = request.form.get("contact_email", "").strip().lower()[:254]
    return f"partner-email:{email}" if email else get_remote_address()


def accepts_applications(event: Event) -> bool:
    """Applications are taken while the event is published and not over."""
    return event.status == EventStatus.PUBLISHED and event.end_date >= utcnow().date()


def _public_event(slug: str) -> Event:
    event = event_services.public_event(slug)
    if event is None:
        abort(404)
    return event


@bp.route("/events/<slug>/partner", methods=["GET", "POST"])
@limiter.limit(LIMIT_PER_CLIENT, methods=["POST"])
@limiter.limit(LIMIT_PER_EMAIL, methods=["POST"], key_func=_typed_email)
def apply(slug: str) -> Response | str | tuple[str, int]:
    """The co-organizer and sponsor application; one commit stores it with both emails."""
    event = _public_event(slug)
    if not accepts_applications(event):
        return render_template("partners/closed.html", event=event), 409
    form = ApplicationForm()
    form.country.choices = choices([("", _("Choose…")), *country_choices()])
    form.sponsor_tier.choices = choices(services.event_tiers(event.id))
    if request.method == "GET":
        form.language.data = current_language()
    if form.validate_on_submit():
        if form.homepage.data:
            # Filled by an automated submitter: answer as for a person, store nothing.
            return redirect(url_for(".sent", slug=event.slug), code=303)
        clean = None
        upload = form.logo.data
        if upload and getattr(upload, "filename", ""):
            try:
                clean = logos.clean_logo(upload.read(logos.MAX_UPLOAD_BYTES + 1))
            except logos.LogoRefused as error:
                form.logo.errors = [*form.logo.errors, error.message]
        if not form.logo.errors:
            try:
                services.submit_application(event, form.to_input(), clean,
                                            actor=partner_actor())
            except services.DuplicateApplication as error:
                db.session.rollback()
                return render_template(
                    "partners/apply.html", event=event, form=form, duplicate=error.message
                )
            db.session.commit()
            session["partner_sent_to"] = form.contact_email.data
            return redirect(url_for(".sent", slug=event.slug), code=303)
    return render_template("partners/apply.html", event=event, form=form, duplicate=None)


@bp.get("/events/<slug>/partner/sent")
def sent(slug: str) -> str:
    event = _public_event(slug)
    return render_template(
        "partners/sent.html", event=event, email=session.get("partner_sent_to")
    )


@bp.get("/partners/<int:partner_id>")
def partner(partner_id: int) -> str:
    """The editions a partner co-organized or sponsored; only partners with an approved
    partnership in a public event have a page."""
    found = services.public_partner(partner_id)
    if found is None:
        abort(404)
    editions = services.partner_editions(found)
    return render_template(
        "partners/partner.html",
        partner=found,
        editions=editions,
        logo=next((p for p in editions if services.has_logo(p)), None),
    )


@bp.get("/partners/logos/<int:partnership_id>.png")
def logo(partnership_id: int) -> Response:
    """An approved partnership's logo (our own re-encoding); 404 for any other."""
    found = services.public_logo(partnership_id)
    if found is None:
        abort(404)
    response = make_response(found.data)
    response.headers["Content-Type"] = found.content_type
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


@bp.app_template_global()
def sponsors_by_tier(event: Event, sponsors: list[Partnership]) -> list[tuple[str, list]]:
    return services.sponsors_by_tier(event.id, sponsors)


@bp.app_template_global()
def partner_logo_url(partnership: Partnership) -> str | None:
    """The public logo address of an approved partnership, or None when it has no logo."""
    if not services.has_logo(partnership):
        return None
    return url_for("partners.logo", partnership_id=partnership.id)


@bp.app_template_global()
def partner_applications_open(event: Event) -> bool:
    return accepts_applications(event)
