"""Public registration: choose a category, fill in the form, manage it through the private link."""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import Field
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import Select

from nkhr_events import pagecache
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import Busy, DomainError
from nkhr_events.events import services as event_services
from nkhr_events.events.calendar import CalendarMethod
from nkhr_events.events.models import Event, EventStatus
from nkhr_events.extensions import db, limiter
from nkhr_events.outbox.requests import request_mail
from nkhr_events.privacy import services as privacy
from nkhr_events.programme import signup_forms, signups
from nkhr_events.registrations import (
    forms,
    holds,
    links,
    notify,
    outlook,
    participants,
    services,
)
from nkhr_events.registrations.categories import CATEGORY_LABELS, QUESTIONS, Category
from nkhr_events.registrations.models import (
    ACTIVE_STATUSES,
    CancelReason,
    Registration,
    RegistrationStatus,
)
from nkhr_events.validators import show_error
from nkhr_events.web import (
    accepted,
    attendee_actor,
    country_choices,
    current_language,
    limit_refusal,
    retry_later,
    speak_language_of,
)

bp = Blueprint("registrations", __name__)


def _email_limit_key() -> str:
    return "register-email:" + (request.form.get("email") or "").strip().lower()[:254]


def _find_event(slug: str) -> Event | None:
    """A published or archived event, as `event_services.public_event` finds it, but without
    eager-loading its series, which these pages never show: that cost a query and more time
    than the rest of the lookup on every page of a registration. The days load on first use."""
    return db.session.scalar(
        db.select(Event).where(
            Event.slug == slug, Event.status.in_([EventStatus.PUBLISHED, EventStatus.ARCHIVED])
        )
    )


def _open_event(slug: str) -> Event:
    event = _find_event(slug)
    if event is None:
        abort(404)
    return event


def _page_version(event: Event, settings: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """What the registration pages show of the event and its category settings: the key of a
    kept page (pagecache.py), so that any edit of either is a new page, never a stale one. The
    days are covered by `updated_at`, which every edit of the event sets."""
    row = tuple(getattr(event, column.key) for column in Event.__table__.columns)
    if settings is None:
        return row
    return row + tuple(services.setting_values(s) for s in settings.values())


@lru_cache(maxsize=8)
def _countries(language: str) -> tuple[tuple[str, str], ...]:
    """The country choices in `language` (sorted once per language, not per request)."""
    with force_locale(language):
        return (("", _("Choose…")), *country_choices())


class _CountrySelect(Select):
    """wtforms' select, its HTML kept per language while nothing is chosen yet.

    The country list has some 250 options: rendering them took longer than the rest of the
    registration form. The empty form's select is the same on every page view, so it is made
    once per language (and set of attributes); a select with a value is rendered as usual.
    """

    _made: dict[tuple[Any, ...], Markup] = {}

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        if field.data:
            return super().__call__(field, **kwargs)
        key = (self.language, field.name, field.id, field.flags.required,
               field.flags.disabled, tuple(sorted(kwargs.items())))
        html = self._made.get(key)
        if html is None:
            html = self._made[key] = super().__call__(field, **kwargs)
        return html


@lru_cache(maxsize=8)
def _country_values(language: str) -> frozenset[str]:
    return frozenset(value for value, _label in _countries(language))


def _fill_choices(form: forms.DetailsForm) -> None:
    language = current_language()
    countries = list(_countries(language))
    widget = _CountrySelect(language)
    for field in form._fields.values():
        if isinstance(field, forms.CountryField):
            field.choices = countries
            field.valid_values = _country_values(language)
            field.widget = widget


def _closed(event: Event, state: event_services.RegistrationState) -> tuple[str, int]:
    return render_template(
        "registrations/closed.html",
        event=event,
        state=state,
        states=event_services.RegistrationState,
    ), 409


class _Step2:
    """The form of one category of one event: made empty, rendered, submitted."""

    def __init__(
        self, event: Event, category: Category, settings: dict[str, services.CategorySettings]
    ) -> None:
        self.event, self.category, self.settings = event, category, settings

    @cached_property
    def outlooks(self) -> dict[str, outlook.CategoryOutlook]:
        """Counted when a page shows them, not for a submission that is accepted."""
        return outlook.outlooks(self.event, self.settings)

    @cached_property
    def session_choices(self) -> list[SelectChoice]:
        """Sessions with limited places the form offers (programme/signup_forms.py)."""
        return signup_forms.offered_choices(self.event)

    def new_form(self) -> forms.RegistrationForm:
        language = current_language()
        form = forms.registration_form(
            self.event, self.category, self.settings[self.category.value], language,
            sessions=bool(self.session_choices), language=language,
        )
        if self.session_choices:
            form.sessions.choices = self.session_choices
        _fill_choices(form)
        return form

    def page(self, form: forms.RegistrationForm) -> str:
        return render_template(
            "registrations/register.html",
            event=self.event,
            form=form,
            category=self.category,
            category_label=CATEGORY_LABELS[self.category],
            outlook=self.outlooks[self.category.value],
            question_names=[f"q_{q.key}" for q in QUESTIONS[self.category]],
        )

    def empty_page(self) -> str:
        """The empty form is the same for every visitor of a language: kept whole."""
        return pagecache.page(
            (
                "registrations.form",
                _page_version(self.event, self.settings),
                outlook.page_key(self.event, self.outlooks),
                tuple((c.value, c.label) for c in self.session_choices),
            ),
            lambda: self.page(self.new_form()),
        )


def _categories(
    event: Event,
) -> tuple[dict[str, services.CategorySettings], list[Category], Category | None]:
    """The event's category settings, its open categories, and the one the request chose
    (`?category=`) if it is open. A category by invitation only is not open here: its form
    is reached through an invitation's link (invitations/invitation_views.py)."""
    settings = services.category_settings(event)
    open_categories = [
        Category(c) for c, s in settings.items() if s.enabled and not s.by_invitation
    ]
    try:
        category: Category | None = Category(request.args.get("category", ""))
    except ValueError:
        category = None
    return settings, open_categories, category if category in open_categories else None


def _choose_page(
    event: Event,
    settings: dict[str, services.CategorySettings],
    outlooks: dict[str, outlook.CategoryOutlook],
    open_categories: list[Category],
) -> str:
    return pagecache.page(
        (
            "registrations.choose",
            _page_version(event, settings),
            outlook.page_key(event, outlooks),
        ),
        lambda: render_template(
            "registrations/choose_category.html",
            event=event,
            categories=open_categories,
            labels=CATEGORY_LABELS,
            settings=settings,
            outlooks=outlooks,
            invalid=bool(request.args.get("category")),
        ),
    )


@bp.route("/events/<slug>/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["NKHR_REGISTRATION_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["NKHR_REGISTRATION_EMAIL_LIMIT"],
    key_func=_email_limit_key,
    methods=["POST"],
    deduct_when=accepted,  # accepted submissions only: a form with mistakes costs nothing
)
def register(slug: str) -> Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Step 1 asks for the category; step 2 (?category=...) asks that category's questions."""
    event = _open_event(slug)
    state = event_services.registration_state(event)
    if state != event_services.RegistrationState.OPEN:
        return _closed(event, state)
    settings, open_categories, category = _categories(event)
    if category is None:
        return _choose_page(event, settings, outlook.outlooks(event, settings), open_categories)
    step = _Step2(event, category, settings)
    if request.method != "POST":
        return step.empty_page()
    return _submit(slug, state, step)


@bp.errorhandler(429)
def too_many_tries(error: Exception) -> tuple[str, int, dict[str, str]]:
    """Over a limit: the registration form again with what was typed (nothing is checked or
    stored) and the real wait, in words and in `Retry-After`; other pages say the wait."""
    text, headers = limit_refusal()
    step = _step_of_request() if request.endpoint == "registrations.register" else None
    if step is not None:
        form = step.new_form()
        form.form_errors.append(text)
        return step.page(form), 429, headers
    if request.endpoint == "registrations.lost_link":
        form = forms.LostLinkForm()
        form.form_errors.append(text)
        return render_template("registrations/lost_link.html", form=form), 429, headers
    page = render_template("errors/error.html", code=429, title=_("Too many attempts"),
                           text=text)
    return page, 429, headers


def _step_of_request() -> _Step2 | None:
    """The registration form this request was sent from, if it is open."""
    event = _find_event((request.view_args or {}).get("slug", ""))
    if event is None:
        return None
    if event_services.registration_state(event) != event_services.RegistrationState.OPEN:
        return None
    settings, _open, category = _categories(event)
    return _Step2(event, category, settings) if category is not None else None


def _submit(
    slug: str, state: event_services.RegistrationState, step: _Step2
) -> Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """A filled-in form: registered (and on to the same answer for everyone), or back with what
    was typed. When the seats stay busy past the lock timeout: "try again" (503, Retry-After)."""
    form = step.new_form()
    if not form.validate_on_submit():
        return step.page(form)
    if form.homepage.data:
        # Filled by an automated submitter: answer as for a person, store nothing.
        _remember_sent(form.email.data)
        return redirect(url_for(".sent", slug=slug), code=303)
    try:
        result = services.register_attendee(
            step.event.id, forms.registration_input(form, step.category), actor=attendee_actor()
        )
        if result.created:  # in the same transaction, once the registration has its seat
            signups.sign_up_at_registration(
                result.registration, signup_forms.chosen_sessions(form), actor=attendee_actor()
            )
    except services.RegistrationClosed:
        db.session.rollback()
        return _closed(step.event, state)
    except DomainError as error:
        db.session.rollback()
        show_error(form, error)
        if isinstance(error, Busy):
            return retry_later(step.page(form), error)
        return step.page(form)
    db.session.commit()
    _remember_sent(form.email.data)
    # The slug it was found by: reading event.slug after the commit would reload it.
    return redirect(url_for(".sent", slug=slug), code=303)


def _remember_sent(address: str) -> None:
    """What the result page repeats: where the email went (masked)."""
    session["registration_sent_to"] = mask_address(address)


def mask_address(address: str) -> str:
    """An address shown on a screen others may see: enough to recognise it, not to read it
    (``mi•••@ex•••.org``)."""
    local, _at, domain = address.strip().rpartition("@")
    if not local:
        return "•••"
    name, dot, top = domain.rpartition(".")
    if not dot:
        name, top = domain, ""
    masked_domain = f"{name[:2]}•••" + (f".{top}" if top else "")
    return f"{local[:2]}•••@{masked_domain}"


@bp.get("/events/<slug>/register/sent")
def sent(slug: str) -> str:
    """The same answer for every accepted submission, and for an address already registered:
    where the email went, what it will say and what to do if it does not come. The email says
    the outcome; this page says nothing of the seats now, which the person who took the last
    one would read as their own answer ("Full")."""
    event = _open_event(slug)
    return pagecache.page(
        ("registrations.sent", _page_version(event)),
        lambda email: render_template("registrations/sent.html", event=event, email=email),
        {"email": session.get("registration_sent_to")},
    )


def _registration_or_404(token: str) -> Registration:
    registration = links.registration_for_token(token)
    if registration is None:
        abort(404)
    speak_language_of(registration.language)
    return registration


@bp.route("/registration/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def manage(token: str) -> Response | str:
    """The attendee's own page: status, details (editable while active), cancel, calendar."""
    registration = _registration_or_404(token)
    event = registration.event
    active = registration.status in ACTIVE_STATUSES
    form = forms.details_form(event, registration)
    _fill_choices(form)
    if request.method == "POST":
        if not active:
            abort(409)
        if form.validate_on_submit():
            data = forms.details_input(form)
            try:
                changed = services.update_details(registration, data, actor=attendee_actor())
            except DomainError as error:
                db.session.rollback()
                show_error(form, error)
            else:
                db.session.commit()
                if changed:
                    flash(_("Your changes are saved. We have emailed you a summary."), "success")
                else:
                    flash(_("Nothing changed."), "info")
                return redirect(url_for(".manage", token=token), code=303)
    return render_template(
        "registrations/manage.html",
        registration=registration,
        event=event,
        form=form,
        token=token,
        active=active,
        statuses=RegistrationStatus,
        category_label=CATEGORY_LABELS[Category(registration.category)],
        questions=QUESTIONS[Category(registration.category)],
        may_register_again=(
            registration.status == RegistrationStatus.CANCELLED
            and registration.cancel_reason != CancelReason.FLOOD
            and event_services.registration_state(event) == event_services.RegistrationState.OPEN
        ),
    )


@bp.post("/registration/<token>/confirm-email")
@limiter.limit("30 per minute")
def confirm_email(token: str) -> Response:
    """The attendee confirms their address and keeps their place. Only this button confirms:
    no GET does, and neither does saving the details."""
    registration = _registration_or_404(token)
    outcome = holds.confirm_email(registration, actor=attendee_actor())
    db.session.commit()
    messages = {
        holds.ConfirmOutcome.CONFIRMED: (
            _("Thank you: your email address is confirmed and your place is kept."), "success"
        ),
        holds.ConfirmOutcome.ALREADY_CONFIRMED: (
            _("Your email address is already confirmed."), "info"
        ),
        holds.ConfirmOutcome.NOT_ASKED: (
            _("This registration does not need an email confirmation."), "info"
        ),
        holds.ConfirmOutcome.NOT_ACTIVE: (
            _("This registration is no longer active, so there is nothing to confirm."), "error"
        ),
    }
    flash(*messages[outcome])
    return redirect(url_for(".manage", token=token), code=303)


@bp.route("/registration/<token>/cancel", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def cancel(token: str) -> Response | str:
    """Ask once, then cancel: the seat goes to the waitlist and a calendar cancellation is sent."""
    registration = _registration_or_404(token)
    if registration.status not in ACTIVE_STATUSES:
        return redirect(url_for(".manage", token=token), code=303)
    if request.method == "POST":
        services.cancel_registration(registration, actor=attendee_actor())
        db.session.commit()
        flash(_("Your registration is cancelled. We have emailed you a confirmation."), "success")
        return redirect(url_for(".manage", token=token), code=303)
    return render_template(
        "registrations/cancel.html",
        registration=registration,
        event=registration.event,
        token=token,
    )


@bp.get("/registration/<token>/data")
def data_page(token: str) -> Response:
    """Everything stored about the attendee as a page to read and print: what the file below
    holds, with labels and dates in the reader's language."""
    registration = _registration_or_404(token)
    response = make_response(render_template(
        "registrations/data.html",
        data=privacy.registration_data(registration),
        registration=registration,
        event=registration.event,
        token=token,
        questions={q.key: q.label for q in QUESTIONS[Category(registration.category)]},
        category_label=CATEGORY_LABELS[Category(registration.category)],
        as_datetime=_as_datetime,
        now=utcnow(),
    ))
    response.headers["Cache-Control"] = "no-store"
    return response


def _as_datetime(value: object) -> datetime | None:
    """A stored timestamp ("2031-03-05T09:07:30+00:00") as a datetime; anything else (an
    answer such as "The Times") is None and shown as it is."""
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@bp.get("/registration/<token>/data.json")
def data_download(token: str) -> Response:
    """Everything stored about the attendee, as a file they can keep."""
    registration = _registration_or_404(token)
    response = make_response(
        json.dumps(privacy.registration_data(registration), ensure_ascii=False, indent=2)
    )
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="my-registration.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/registration/<token>/erase", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def erase(token: str) -> Response | str:
    """Ask once, then erase: the seat goes to the waitlist and the link stops working."""
    registration = _registration_or_404(token)
    if request.method == "POST":
        privacy.anonymize_registration(registration, actor=attendee_actor())
        db.session.commit()
        return render_template("registrations/erase.html", erased=True, event=None, token=None)
    return render_template(
        "registrations/erase.html",
        erased=False,
        registration=registration,
        event=registration.event,
        token=token,
        active=registration.status in ACTIVE_STATUSES,
    )


@bp.get("/registration/<token>/calendar.ics")
def calendar(token: str) -> Response:
    """The event in the attendee's calendar (only for a confirmed registration)."""
    registration = _registration_or_404(token)
    if registration.status != RegistrationStatus.CONFIRMED:
        abort(404)
    attachment = notify.calendar_attachment(registration, CalendarMethod.PUBLISH)
    response = make_response(attachment.data)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{registration.event.slug}.ics"'
    )
    return response


@bp.get("/events/<slug>/participants")
def public_participants(slug: str) -> str:
    """The participant list for anyone, when staff made it public; 404 otherwise."""
    event = _open_event(slug)
    people = participants.public_list(event)
    if people is None:
        abort(404)
    return render_template(
        "registrations/participants.html", event=event, people=people, token=None, category=None
    )


@bp.get("/registration/<token>/participants")
def participant_list(token: str) -> str:
    """The participant list through a confirmed registrant's private link; 404 otherwise."""
    registration = _registration_or_404(token)
    people = participants.list_for_participant(registration)
    if people is None:
        abort(404)
    event = registration.event
    return render_template(
        "registrations/participants.html",
        event=event,
        people=people,
        token=token,
        category=(
            CATEGORY_LABELS[Category(registration.category)]
            if event.participant_list_by_category
            else None
        ),
    )


@bp.route("/registration/lost-link", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["NKHR_REGISTRATION_LIMIT"], methods=["POST"])
def lost_link() -> Response | str:
    """Send the private links again. The answer is the same whether or not the address is known."""
    form = forms.LostLinkForm()
    if form.validate_on_submit():
        # Looked up by the outbox worker, so the answer costs the same for any address.
        request_mail(services.LOST_LINK, form.email.data, current_language())
        db.session.commit()
        session["lost_link_sent_to"] = form.email.data
        return redirect(url_for(".lost_link_sent"), code=303)
    return render_template("registrations/lost_link.html", form=form)


@bp.get("/registration/lost-link/sent")
def lost_link_sent() -> str:
    return render_template(
        "registrations/lost_link_sent.html", email=session.get("lost_link_sent_to")
    )
