"""Staff pages for events: the staff home (every event), create, edit, publish, archive."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from nkhr_events.accounts.access import (
    Permission,
    can_create_events,
    categories_of,
    door_only,
    event_for,
    visible_event_ids,
    visible_event_ids_any,
)
from nkhr_events.accounts.roles import require_staff
from nkhr_events.checkin.services import event_today
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events import services
from nkhr_events.events.dates import every_day
from nkhr_events.events.forms import EventForm, parse_day_lines, timezone_choices
from nkhr_events.events.models import DEFAULT_DOOR_OPENS_AT, Event, EventStatus, Series
from nkhr_events.events.slugs import suggest_slug
from nkhr_events.events.texts import (
    CONTENT_LANGUAGES,
    EVENT_TEXT_FIELDS,
    missing_translations,
    text_column,
)
from nkhr_events.extensions import db
from nkhr_events.registrations import services as registration_services
from nkhr_events.registrations.holds import set_email_confirmation
from nkhr_events.registrations.seats import moved_up_message
from nkhr_events.roster.services import event_reach, status_counts
from nkhr_events.validators import show_error, whole_number
from nkhr_events.web import Confirmation, confirmed, country_choices, current_actor, localized

bp = require_staff(Blueprint("events_manage", __name__, url_prefix="/manage"))


def _prepared_form(event: Event | None = None) -> EventForm:
    form = EventForm(obj=event)
    if event is not None and request.method == "GET":
        form.languages.data = event.language_list
        form.interpretation_pairs.data = event.interpretation_pairs.split()
    form.series_id.choices = [(s.id, localized(s, "name")) for s in services.all_series()]
    form.country.choices = [("", _("Choose…")), *country_choices()]
    form.timezone.choices = timezone_choices(event.timezone if event else None)
    if event is not None and request.method == "GET":
        held = set(event.day_list)
        form.skipped_days.data = "\n".join(
            d.isoformat() for d in every_day(event.start_date, event.end_date) if d not in held
        )
        zone = event.zone
        for name in ("registration_opens_at", "registration_closes_at"):
            value = getattr(event, name)
            getattr(form, name).data = (
                value.astimezone(zone).replace(tzinfo=None) if value else None
            )
    return form


def _local_to_utc(value: datetime | None, zone: str) -> datetime | None:
    return value.replace(tzinfo=ZoneInfo(zone)) if value is not None else None


def _event_input(form: EventForm) -> services.EventInput:
    first = form.start_date.data
    last = form.end_date.data or first
    skipped = set(parse_day_lines(form.skipped_days.data or ""))
    zone = form.timezone.data
    texts = {
        text_column(name, language): (getattr(form, text_column(name, language)).data or "").strip()
        for name in EVENT_TEXT_FIELDS
        for language in CONTENT_LANGUAGES
    }
    return services.EventInput(
        series_id=form.series_id.data,
        slug=form.slug.data.strip(),
        days=[d for d in every_day(first, last) if d not in skipped],
        country=form.country.data,
        timezone=zone,
        languages=form.languages.data or [],
        interpretation_pairs=form.interpretation_pairs.data or [],
        **texts,
        capacity=form.capacity.data,
        retention_days=form.retention_days.data or services.DEFAULT_RETENTION_DAYS,
        registration_opens_at=_local_to_utc(form.registration_opens_at.data, zone),
        registration_closes_at=_local_to_utc(form.registration_closes_at.data, zone),
        participant_list=form.participant_list.data,
        participant_list_by_category=bool(form.participant_list_by_category.data),
        show_seat_counts=bool(form.show_seat_counts.data),
        door_opens_at=form.door_opens_at.data or DEFAULT_DOOR_OPENS_AT,
    )


def _save(form: EventForm, event: Event | None) -> Event | None:
    """Validate and store; on a refused rule, put the message beside its field."""
    if not form.validate_on_submit():
        return None
    moved_up: Sequence[object] = []
    try:
        data = _event_input(form)
        # The capacity is set by its one owner, under the seat lock: a raised one gives seats
        # to the waitlist at once, one below the seats taken is refused.
        actor = current_actor()
        if event is None:
            saved = services.create_event(data, registration_services.change_capacity,
                                          actor=actor)
        else:
            saved = event
            moved_up = services.update_event(event, data, registration_services.change_capacity,
                                             actor=actor)
        set_email_confirmation(saved, form.email_confirmation_minutes.data, actor=actor)
    except DomainError as error:
        db.session.rollback()
        show_error(form, error)
        return None
    db.session.commit()
    if moved_up:
        flash(moved_up_message(len(moved_up)), "info")
    return saved


def _suggest_slug(form: EventForm) -> str:
    """A new event sent without a web address gets one suggested from its title (or series,
    year and city), shown in the field with a hint; "" when none was needed. A suggestion the
    organizer left as it was is made again from the title sent now (a title refused and
    corrected does not leave its address behind)."""
    form.slug.flags.required = False
    form.slug.description = _("Lower-case letters, digits and hyphens. Leave it empty to get "
                              "one suggested from the title.")
    typed = (form.slug.data or "").strip()
    if request.method != "POST" or (typed and typed != (form.slug_suggested.data or "").strip()):
        return ""
    # The form is not validated yet: a series number outside what the column holds is none.
    series_id = whole_number(str(form.series_id.data or ""))
    series = db.session.get(Series, series_id) if series_id else None
    day = form.start_date.data
    form.slug.data = suggest_slug(
        [getattr(form, text_column("title", code)).data or "" for code in CONTENT_LANGUAGES],
        series.slug if series else "",
        day.year if isinstance(day, date) else None,
        [getattr(form, text_column("city", code)).data or "" for code in CONTENT_LANGUAGES],
    )
    form.slug.description = _("Suggested from the title: change it if you like.")
    form.slug_suggested.data = form.slug.data
    return form.slug.data


def _say_if_past(event: Event) -> None:
    """An event whose days are all over is allowed (a past conference entered for the record),
    but said, so that a mistyped year is noticed while the form is still open."""
    if event.end_date < event_today(event):
        flash(_("All of its days are in the past: published, it is listed with the past "
                "conferences and takes no registrations. If that is not meant, check the "
                "year."), "warning")


@bp.route("/events/new", methods=["GET", "POST"])
def create() -> Response | str:
    if not can_create_events():
        abort(404)
    form = _prepared_form()
    suggested = _suggest_slug(form)
    saved = _save(form, None)
    if saved is not None:
        flash(_("The event was created as a draft. Publish it when it is ready."), "success")
        if suggested:
            flash(_("Its web address %(slug)s was suggested from the title; you can change it "
                    "below.", slug=saved.slug), "info")
        _say_if_past(saved)
        return redirect(url_for(".edit", event_id=saved.id), code=303)
    return render_template("events/event_form.html", form=form, event=None)


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
def edit(event_id: int) -> Response | str:
    event = event_for(event_id, Permission.EDIT_EVENT)
    form = _prepared_form(event)
    saved = _save(form, event)
    if saved is not None:
        flash(_("Your changes are saved."), "success")
        _say_if_past(saved)
        return redirect(url_for(".edit", event_id=saved.id), code=303)
    return render_template(
        "events/event_form.html", form=form, event=event, statuses=EventStatus,
        missing=missing_translations(event),
    )


def _status_confirmation(event: Event, status: EventStatus) -> str:
    """What hiding or archiving a published event does, before it is done."""
    reach = event_reach(event)
    if status == EventStatus.DRAFT:
        title = _("Take the event back to draft?")
        button = _("Back to draft: hide the event")
        consequences = [
            _("The public event page, its registration form and its participant list will "
              "answer \"not found\" to everyone."),
            ngettext("%(num)d registered person will no longer see the event page.",
                     "%(num)d registered people will no longer see the event page.",
                     reach.active),
        ]
    else:
        title = _("Archive the event?")
        button = _("Archive the event")
        consequences = [
            _("Registration closes: nobody can register, change or join the waitlist."),
            _("The event moves to the past conferences in the public history."),
            ngettext("%(num)d person has an active registration.",
                     "%(num)d people have an active registration.", reach.active),
        ]
    if reach.queued:
        consequences.append(ngettext(
            "%(num)d email about the event is still queued; it will be sent.",
            "%(num)d emails about the event are still queued; they will be sent.",
            reach.queued))
    return Confirmation(
        title, consequences, button, [("status", status.value)],
        back_url=url_for(".edit", event_id=event.id), back_label=localized(event, "title"),
    ).render()


@bp.post("/events/<int:event_id>/status")
def change_status(event_id: int) -> Response | str:
    """Publish, archive or return an event to draft."""
    event = event_for(event_id, Permission.EDIT_EVENT)
    try:
        status = EventStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    if event.status == EventStatus.PUBLISHED and status != event.status and not confirmed():
        return _status_confirmation(event, status)
    try:
        services.change_event_status(event, status, actor=current_actor())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        messages = {
            EventStatus.PUBLISHED: _("The event is published."),
            EventStatus.ARCHIVED: _("The event is archived."),
            EventStatus.DRAFT: _("The event is a draft again and hidden from the public."),
        }
        flash(messages[status], "success")
    return redirect(url_for(".edit", event_id=event.id), code=303)


# --- the staff home -----------------------------------------------------------------------------


def _door_event() -> Event | None:
    """Where a door-only account works: the event held today (in its own time zone) among
    theirs, else the next one to come; None when there is neither."""
    query = db.select(Event).where(Event.status != EventStatus.ARCHIVED)
    visible = visible_event_ids(Permission.CHECK_IN)
    if visible is not None:
        query = query.where(Event.id.in_(visible))
    events = db.session.scalars(query.order_by(Event.start_date, Event.id)).all()
    today = next((e for e in events if event_today(e) in e.day_list), None)
    if today is not None:
        return today
    return next((e for e in events if e.end_date >= event_today(e)), None)


@bp.get("/")
def home() -> Response | str:
    """The staff home: the signer's events (an admin's: every one), drafts included, newest
    first. An account that only checks people in lands on the door page of today's event."""
    if door_only():
        door_event = _door_event()
        if door_event is not None:
            return redirect(url_for("checkin_manage.door", event_id=door_event.id))
    query = db.select(Event).order_by(Event.start_date.desc())
    visible = visible_event_ids_any()
    if visible is not None:
        query = query.where(Event.id.in_(visible))
    events = db.session.scalars(query).all()
    counts = registration_services.status_counts_by_event([e.id for e in events])
    for event in events:
        reached = categories_of(event.id)
        if reached is not None:  # a reviewer counts only the categories they review
            counts[event.id] = status_counts(event.id, reached)
    return render_template(
        "events/manage_home.html", events=events, counts=counts, today=utcnow().date()
    )
