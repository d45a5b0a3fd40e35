"""Public partner pages: the application form per event, a page per partner, approved logos."""

from __future__ import annotations

from dataclasses import dataclass

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
from werkzeug.wrappers import Response

from nkhr_events.dbtypes import utcnow
from nkhr_events.events import services as event_services
from nkhr_events.events.models import Event, EventStatus
from nkhr_events.extensions import db, limiter
from nkhr_events.partners import services
from nkhr_events.partners.forms import ApplicationForm, choices
from nkhr_events.partners.models import Partnership
from nkhr_events.web import country_choices, current_language, limit_wait, partner_actor

bp = Blueprint("partners", __name__)

#: Every POST per client (IP address), whatever its outcome. Each contact address is limited
#: besides by the applications stored for it (services.APPLICATIONS_PER_ADDRESS).
LIMIT_PER_CLIENT = "5 per minute; 30 per day"


@dataclass(frozen=True)
class Notice:
    """A message above the form: why it came back although nothing in it is wrong."""

    id: str
    title: str
    text: str
    kept: bool = False


def accepts_applications(event: Event) -> bool:
    """Applications are taken while the event is published and not over."""
    return event.status == EventStatus.PUBLISHED and event.end_date >= utcnow().date()


def _public_event(slug: str) -> Event:
    event = event_services.public_event(slug)
    if event is None:
        abort(404)
    return event


def _application_form(event: Event) -> ApplicationForm:
    form = ApplicationForm()
    form.country.choices = choices([("", _("Choose…")), *country_choices()])
    form.sponsor_tier.choices = choices(services.event_tiers(event.id))
    return form


def _form_page(event: Event, form: ApplicationForm, notice: Notice | None = None) -> str:
    return render_template("partners/apply.html", event=event, form=form, notice=notice)


@bp.route("/events/<slug>/partner", methods=["GET", "POST"])
@limiter.limit(LIMIT_PER_CLIENT, methods=["POST"])
def apply(slug: str) -> Response | str | tuple[str, int, dict[str, str]]:
    """The co-organizer and sponsor application; one commit stores it with both emails.

    A form that comes back keeps what was typed, and the logo if it was accepted."""
    event = _public_event(slug)
    if not accepts_applications(event):
        return render_template("partners/closed.html", event=event), 409, {}
    form = _application_form(event)
    if request.method == "GET":
        form.language.data = current_language()
        return _form_page(event, form)
    valid = form.validate_on_submit()
    valid = form.check_kept_logo(event.id) and valid
    if valid and form.homepage.data:
        # Filled by an automated submitter: answer as for a person, store nothing.
        return redirect(url_for(".sent", slug=event.slug), code=303)
    notice, status, headers = None, 200, {}
    if valid:
        try:
            services.submit_application(
                event, form.to_input(), form.logo_to_store(), actor=partner_actor()
            )
        except services.TooManyApplications as error:
            db.session.rollback()
            notice = Notice("try-later", _("Too many attempts"), error.message, kept=True)
            status, headers = 429, {"Retry-After": str(error.retry_after)}
        except services.DuplicateApplication as error:
            db.session.rollback()
            notice = Notice("duplicate-application", _("Already applied"), error.message)
        else:
            form.release_logo()
            db.session.commit()
            session["partner_sent_to"] = form.contact_email.data
            return redirect(url_for(".sent", slug=event.slug), code=303)
    if not form.homepage.data:
        form.keep_logo(event.id)
        db.session.commit()
    return _form_page(event, form, notice), status, headers


@bp.errorhandler(429)
def too_many_tries(error: Exception) -> tuple[str, int, dict[str, str]]:
    """A client over `LIMIT_PER_CLIENT`: the form again with what was typed (nothing is
    checked or stored) and the real wait, in words and in `Retry-After`."""
    wait = limit_wait()
    text = _("Too many tries from your connection. Please try again in about %(wait)s.",
             wait=services.wait_text(wait))
    headers = {"Retry-After": str(wait)}
    event = event_services.public_event((request.view_args or {}).get("slug", ""))
    if request.endpoint != "partners.apply" or event is None or not accepts_applications(event):
        page = render_template("errors/error.html", code=429, title=_("Too many attempts"),
                               text=text)
        return page, 429, headers
    form = _application_form(event)
    form.kept_logo = services.held_logo(event.id, (form.logo_token.data or "").strip())
    if form.kept_logo is None:
        form.logo_token.data = ""
    notice = Notice("try-later", _("Too many attempts"), text, kept=True)
    return _form_page(event, form, notice), 429, headers


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
def partner_cards(partnerships: list[Partnership]) -> list[services.PartnerCard]:
    return services.partner_cards(partnerships)


@bp.app_template_global()
def partner_logo_url(partnership: Partnership) -> str | None:
    """The public logo address of an approved partnership, or None when it has no logo."""
    if not services.has_logo(partnership):
        return None
    return url_for("partners.logo", partnership_id=partnership.id)


@bp.app_template_global()
def partner_applications_open(event: Event) -> bool:
    return accepts_applications(event)
