"""Staff pages for registrations: the event dashboard, the roster (filters, exports, printouts,
a message to a filtered group), a person's page and edit, decisions one by one and in bulk, the
per-event category settings, and cancelling a flood of registrations."""

from __future__ import annotations

import json
from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import Response as StreamedResponse
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from nkhr_events.accounts import access
from nkhr_events.accounts.access import (
    Permission,
    can,
    categories_of,
    event_for,
    registration_for,
)
from nkhr_events.accounts.roles import require_staff
from nkhr_events.audit.services import record
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import Busy, DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.invitations.models import RegistrationGroup
from nkhr_events.names import mixes_lookalike_scripts
from nkhr_events.outbox.services import messages_about
from nkhr_events.privacy.services import registration_data
from nkhr_events.registrations import forms, services
from nkhr_events.registrations.categories import (
    CATEGORY_LABELS,
    INVITATION_ONLY,
    QUESTIONS,
    Category,
)
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.registrations.seats import moved_up_message
from nkhr_events.roster import exports, flood
from nkhr_events.roster.dashboard import event_dashboard
from nkhr_events.roster.exports import status_text as status_label
from nkhr_events.roster.forms import FloodCancelForm, category_settings_form, flood_filters
from nkhr_events.roster.services import (
    BULK_LIMIT,
    PAGE_SIZE,
    PERSON_DATA_DOWNLOAD,
    PERSON_EDIT_VIEW,
    Decision,
    GroupMessage,
    RosterFilters,
    apply_decision,
    decide_many,
    matching_ids,
    preview_group_message,
    reader_counts,
    record_person_view,
    record_view,
    roster_query,
    roster_summary,
    save_internal_notes,
    send_group_message,
    staff_update_details,
    status_history,
    waiting_count,
)
from nkhr_events.roster.services import (
    resend_link as resend,
)
from nkhr_events.validators import (
    Length,
    show_error,
    whole_number,
)
from nkhr_events.web import Confirmation, confirmed, country_choices, current_actor, int_arg

bp = require_staff(Blueprint("roster_manage", __name__, url_prefix="/manage"))
bp.add_app_template_global(exports.hold_text, "hold_text")
bp.add_app_template_global(mixes_lookalike_scripts, "lookalike_name")
# Staff pages offer only the links, buttons and sections the signed-in person's role allows.
bp.add_app_template_global(access.can, "can")
bp.add_app_template_global(access.can_somewhere, "can_somewhere")
bp.add_app_template_global(access.can_create_events, "can_create_events")


def _offered_categories(event: Event) -> list[Category]:
    """The categories the signed-in person reaches at `event`, for the category filter."""
    reached = categories_of(event.id)
    return [c for c in Category if reached is None or c.value in reached]


@bp.get("/events/<int:event_id>")
def dashboard(event_id: int) -> str:
    """An event at a glance: seats, statuses by category, reviews waiting, check-ins, activity."""
    event = event_for(event_id, Permission.VIEW_ROSTER)
    return render_template(
        "roster/dashboard.html",
        event=event,
        board=event_dashboard(
            event,
            categories_of(event.id),
            show_views=request.args.get("views") == "1",
            real_speaker_names=can(event, Permission.EDIT_EVENT),
        ),
        show_views=request.args.get("views") == "1",
        statuses=RegistrationStatus,
        status_label=status_label,
        categories=_offered_categories(event),
        category_labels=CATEGORY_LABELS,
    )


def _filters(event: Event) -> RosterFilters:
    return RosterFilters.from_args(request.values, event)


@bp.get("/events/<int:event_id>/registrations")
def registrations(event_id: int) -> str:
    """The roster: filtered, searched, sorted and paged through GET parameters. Audited."""
    event = event_for(event_id, Permission.VIEW_ROSTER)
    filters = _filters(event)
    # Record the look first: committing after loading the page would expire every row on it
    # and reload each one while the template renders.
    record_view(event, filters, actor=current_actor())
    db.session.commit()
    reached = categories_of(event.id)
    page = db.paginate(
        roster_query(event, filters, categories=reached),
        page=int_arg("page", 1),
        per_page=PAGE_SIZE,
        error_out=False,
    )
    summary = roster_summary(event, reached)
    return render_template(
        "roster/list.html",
        event=event,
        page=page,
        counts=summary.counts,
        taken=summary.taken,
        filters=filters,
        status=filters.status,
        countries=summary.countries,
        statuses=RegistrationStatus,
        status_label=status_label,
        categories=Category,
        offered_categories=_offered_categories(event),
        category_labels=CATEGORY_LABELS,
        columns=exports.offered_columns(can(event, Permission.READ_NEEDS)),
        bulk_limit=BULK_LIMIT,
        default_columns=exports.saved_columns(current_user, can(event, Permission.READ_NEEDS)),
    )


@bp.get("/events/<int:event_id>/registrations/export")
def export(event_id: int) -> Response:
    """The filtered roster as CSV or XLSX (one sheet per day on request) with the ticked
    columns, streamed; the ticks become the person's defaults. Audited."""
    event = event_for(event_id, Permission.EXPORT)
    filters = _filters(event)
    kind = request.args.get("format", "csv")
    if kind not in {"csv", "xlsx"}:
        abort(400)
    ticked = request.args.getlist("columns")
    columns = exports.chosen_columns(ticked, with_needs=can(event, Permission.READ_NEEDS))
    if ticked:
        exports.remember_columns(current_user, columns)
    reached = categories_of(event.id)
    include_protected = bool(request.args.get("include_protected")) and current_user.is_admin
    real_names = bool(request.args.get("include_real_names")) and can(event, Permission.PROTECTED)
    if real_names:
        columns = [*columns, exports.REAL_NAME_COLUMN]
    exports.record_export(
        event, filters, columns, kind, include_protected, real_names, actor=current_actor()
    )
    db.session.commit()
    filename = exports.export_filename(event, kind, utcnow().date())
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if kind == "csv":
        body = exports.stream_csv(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            event.id,
            filters,
            columns,
            str(get_locale() or "en"),
            include_protected,
            reached,
        )
        return StreamedResponse(body, mimetype="text/csv; charset=utf-8", headers=disposition)
    spool = exports.xlsx_file(exports.xlsx_sheets(
        event, filters, columns, include_protected, reached,
        per_day=bool(request.args.get("per_day")),
    ))
    return StreamedResponse(
        exports.file_chunks(spool),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=disposition,
        direct_passthrough=True,
    )


def _day(event: Event) -> date | None:
    value = request.args.get("day", "")
    return next((d for d in event.day_list if d.isoformat() == value), None)


def _printable(
    event_id: int, template: str, kind: str, layout: exports.BadgeLayout | None = None
) -> str:
    """A printout of the confirmed people the reader may see (their categories), optionally
    of one day; with a badge `layout`, each person's badge with its check-in QR code."""
    event = event_for(event_id, Permission.EXPORT)
    day = _day(event)
    people = exports.confirmed_attendees(event, day, categories=categories_of(event.id))
    # Before the commit: a person's first QR code gives them a check-in salt.
    printed_badges = exports.badges(people) if layout is not None else []
    record(
        "roster.print",
        object_type="event",
        object_id=event.id,
        event_id=event.id,
        detail={"kind": kind, "day": day.isoformat() if day else None, "count": len(people)},
        actor=current_actor(),
    )
    db.session.commit()
    return render_template(
        template,
        event=event,
        day=day,
        people=people,
        badges=printed_badges,
        layout=layout,
        layouts=exports.BADGE_LAYOUTS.values(),
        category_labels=CATEGORY_LABELS,
        categories=Category,
    )


@bp.get("/events/<int:event_id>/badges")
def badges(event_id: int) -> str:
    """Printable badges of confirmed registrations, optionally of one day, in the layout the
    page's chooser names (an unknown one falls back to the default)."""
    layout = exports.badge_layout(request.args.get("layout"))
    return _printable(event_id, "roster/badges.html", "badges", layout)


@bp.get("/events/<int:event_id>/sign-in-sheet")
def sign_in_sheet(event_id: int) -> str:
    """A printable sign-in sheet of confirmed registrations, optionally of one day."""
    return _printable(event_id, "roster/sign_in_sheet.html", "sign_in_sheet")


@bp.route("/events/<int:event_id>/registrations/message", methods=["GET", "POST"])
def message(event_id: int) -> Response | str:
    """Write to everyone the filters select: write (a subject and a text per language someone
    selected reads), confirm (with the counts), send. Refused at sending, it is written again
    with the languages now read. Audited."""
    event = event_for(event_id, Permission.MESSAGE)
    filters = _filters(event)
    text = GroupMessage.from_form(request.form)
    step = request.form.get("step", "write") if request.method == "POST" else "write"
    if step == "send":
        try:
            sent = send_group_message(event, filters, text, actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            step = "check"
        else:
            db.session.commit()
            flash(
                ngettext(
                    "The message is queued for %(num)d person.",
                    "The message is queued for %(num)d people.",
                    sent,
                ),
                "success",
            )
            return redirect(
                url_for(".registrations", event_id=event.id, **filters.params()), code=303
            )
    readers = reader_counts(event, filters)
    errors = text.errors(readers) if step in {"confirm", "check"} else {}
    if errors or step != "confirm":
        step = "write"
    previews = preview_group_message(event, filters, text) if step == "confirm" else {}
    return render_template(
        "roster/message.html",
        previews=previews,
        event=event,
        filters=filters,
        text=text,
        errors=errors,
        step=step,
        readers=readers,
        count=sum(readers.values()),
    )


@bp.get("/registrations/<int:registration_id>")
def registration(registration_id: int) -> str:
    """A person's page: what they entered, notes, status history and every email sent.
    Audited."""
    found = registration_for(registration_id, Permission.VIEW_ROSTER)
    record_person_view(found, actor=current_actor())
    db.session.commit()
    emails = messages_about(registration_id=found.id)
    return render_template(
        "roster/person.html",
        registration=found,
        emails=emails,
        history=status_history(
            found, real_speaker_names=can(found.event, Permission.EDIT_EVENT)),
        event=found.event,
        status_label=status_label,
        statuses=RegistrationStatus,
        category_label=CATEGORY_LABELS[Category(found.category)],
        questions=QUESTIONS[Category(found.category)],
        group=db.session.get(RegistrationGroup, found.group_id) if found.group_id else None,
    )


@bp.get("/registrations/<int:registration_id>/data.json")
def data_download(registration_id: int) -> Response:
    """Everything stored about the person (what they can download through their link), e.g.
    to answer a request for it by letter. It holds the needs and notes, so it is only for
    those who read them too. Audited."""
    found = registration_for(registration_id, Permission.EXPORT)
    if not can(found.event_id, Permission.READ_NEEDS):
        abort(404)
    record_person_view(found, PERSON_DATA_DOWNLOAD, actor=current_actor())
    db.session.commit()
    response = current_app.response_class(
        json.dumps(registration_data(found), ensure_ascii=False, indent=2),
        mimetype="application/json",
    )
    response.headers.set("Content-Disposition", "attachment",
                         filename=f"registration-{found.id}.json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/registrations/<int:registration_id>/notes")
def notes(registration_id: int) -> Response:
    """Save the internal notes (staff only; never shown to the person)."""
    found = registration_for(registration_id, Permission.READ_NEEDS)
    if save_internal_notes(
        found, request.form.get("internal_notes", "")[:10000], actor=current_actor()
    ):
        db.session.commit()
        flash(_("The notes are saved."), "success")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for(".registration", registration_id=found.id), code=303)


@bp.route("/registrations/<int:registration_id>/edit", methods=["GET", "POST"])
def edit(registration_id: int) -> Response | str:
    """Staff change the details an attendee may change; the attendee is emailed a summary.
    Opening the form is audited (it shows the needs); saving it unchanged records nothing."""
    found = registration_for(registration_id, Permission.EDIT_REGISTRATION)
    if request.method == "GET":
        record_person_view(found, PERSON_EDIT_VIEW, actor=current_actor())
        db.session.commit()
    form = forms.details_form(found.event, found)
    if found.protected:
        # A pseudonym may be one word (invitations/protected.py).
        form.family_name.validators = [Optional(), Length(max=100)]
        form.family_name.flags.required = False
    form.country.choices = [
        SelectChoice("", _("Choose…")),
        *(SelectChoice(code, name) for code, name in country_choices()),
    ]
    if form.validate_on_submit():
        try:
            changed = staff_update_details(
                found, forms.details_input(form), actor=current_actor()
            )
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            if changed and not found.has_email and found.group_id is None:
                flash(_("The changes are saved."), "success")
            elif changed:
                flash(_("The changes are saved and the person was emailed a summary."), "success")
            else:
                flash(_("Nothing changed."), "info")
            return redirect(url_for(".registration", registration_id=found.id), code=303)
    return render_template(
        "roster/edit.html", registration=found, event=found.event, form=form
    )


@bp.post("/registrations/<int:registration_id>/resend-link")
def resend_link(registration_id: int) -> Response:
    """Email the person a fresh private link (they lost theirs). Audited."""
    found = registration_for(registration_id, Permission.DECIDE)
    try:
        resend(found, actor=current_actor())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("A fresh private link is on its way."), "success")
    return redirect(url_for(".registration", registration_id=found.id), code=303)


def _decision() -> Decision:
    try:
        return Decision(request.form.get("action", ""))
    except ValueError:
        abort(400)


def _harm_lines(decision: Decision, count: int, reason: str, waiting: int) -> list[str]:
    """What rejecting or waitlisting `count` registrations does, for the confirmation step."""
    if decision == Decision.REJECT:
        lines = [
            ngettext("%(num)d person will be emailed that the registration is rejected.",
                     "%(num)d people will be emailed that their registrations are rejected.",
                     count),
            _("The reason you gave is in the email: \u201c%(reason)s\u201d", reason=reason)
            if reason.strip() else _("No reason is given in the email."),
        ]
    else:
        lines = [ngettext(
            "%(num)d person will lose their seat and wait on the waitlist; they are emailed.",
            "%(num)d people will lose their seats and wait on the waitlist; they are emailed.",
            count)]
    if waiting:
        lines.append(ngettext(
            "Freed seats go to the waitlist at once: %(num)d person is waiting.",
            "Freed seats go to the waitlist at once: %(num)d people are waiting.", waiting))
    return lines


def _decision_confirmation(found: Registration, decision: Decision, reason: str) -> str:
    name = found.full_name
    title = (_("Reject %(name)s?", name=name) if decision == Decision.REJECT
             else _("Move %(name)s to the waitlist?", name=name))
    return Confirmation(
        title, _harm_lines(decision, 1, reason, waiting_count(found.event)),
        _("Reject") if decision == Decision.REJECT else _("Move to waitlist"),
        [("action", decision.value), ("reason", reason)],
        back_url=url_for(".registration", registration_id=found.id), back_label=name,
    ).render()


@bp.post("/registrations/<int:registration_id>/decision")
def decide(registration_id: int) -> Response | str:
    """Approve, reject (with an optional reason, sent to the person) or move to the waitlist."""
    found = registration_for(registration_id, Permission.DECIDE)
    reason = request.form.get("reason", "")[:1000]
    decision = _decision()
    if decision != Decision.APPROVE and not confirmed():
        return _decision_confirmation(found, decision, reason)
    try:
        promoted = apply_decision(found, decision, reason, actor=current_actor())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(
            _(
                "Saved: %(name)s is now %(status)s.",
                name=found.full_name,
                status=status_label(found.status),
            ),
            "success",
        )
        if promoted:
            flash(moved_up_message(len(promoted)), "info")
    return redirect(url_for(".registration", registration_id=found.id), code=303)


def _bulk_ids(event: Event, filters: RosterFilters) -> list[int] | None:
    """The registrations a bulk action is for: the ticked ones, every one on the page, or every
    one the filters match (None: more than BULK_LIMIT)."""
    scope = request.form.get("scope", "selected")
    if scope == "filter":
        ids = matching_ids(event, filters, categories_of(event.id))
        return None if len(ids) > BULK_LIMIT else ids
    field = "page_ids" if scope == "page" else "ids"
    ids = [n for n in map(whole_number, request.form.getlist(field)) if n is not None]
    return list(dict.fromkeys(ids))[:BULK_LIMIT]


def _back_to_roster(event: Event, filters: RosterFilters, problem: str) -> Response:
    """Back to the roster with the bulk controls' problem shown beside them."""
    params = filters.params(bulk=problem)
    return redirect(
        url_for(".registrations", event_id=event.id, _anchor="bulk", **params), code=303
    )


@bp.post("/events/<int:event_id>/registrations/bulk")
def bulk(event_id: int) -> Response | str:
    """Apply one decision to the ticked registrations, the page or everything the filters
    match; each is decided on its own. Rejecting, waitlisting and acting on more than the
    ticked ones are confirmed first, with the count."""
    event = event_for(event_id, Permission.DECIDE)
    decision = _decision()
    filters = _filters(event)
    ids = _bulk_ids(event, filters)
    if not ids:
        return _back_to_roster(event, filters, "none" if ids is not None else "many")
    reason = request.form.get("reason", "")[:1000]
    wide = request.form.get("scope", "selected") != "selected"
    if (decision != Decision.APPROVE or wide) and not confirmed():
        return _bulk_confirmation(event, filters, decision, ids, reason)
    outcome = decide_many(
        event, ids, decision, reason, categories_of(event.id), actor=current_actor()
    )
    db.session.commit()
    flash(
        ngettext(
            "%(num)d registration updated.", "%(num)d registrations updated.", outcome.done
        ),
        "success" if outcome.done else "info",
    )
    if outcome.skipped:
        flash(
            ngettext(
                "%(num)d registration skipped (its status does not allow it).",
                "%(num)d registrations skipped (their status does not allow it).",
                outcome.skipped,
            ),
            "info",
        )
    if outcome.promoted:
        flash(moved_up_message(outcome.promoted), "info")
    return redirect(url_for(".registrations", event_id=event.id, **filters.params()), code=303)


def _bulk_confirmation(
    event: Event, filters: RosterFilters, decision: Decision, ids: list[int], reason: str
) -> str:
    """The ids go along explicitly: what is confirmed is exactly what was counted."""
    count = len(ids)
    titles = {
        Decision.APPROVE: ngettext("Approve %(num)d registration?",
                                   "Approve %(num)d registrations?", count),
        Decision.REJECT: ngettext("Reject %(num)d registration?",
                                  "Reject %(num)d registrations?", count),
        Decision.WAITLIST: ngettext("Move %(num)d registration to the waitlist?",
                                    "Move %(num)d registrations to the waitlist?", count),
    }
    if decision == Decision.APPROVE:
        lines = [ngettext("%(num)d person will be emailed that the registration is confirmed.",
                          "%(num)d people will be emailed that their registrations are "
                          "confirmed.", count)]
    else:
        lines = _harm_lines(decision, count, reason, waiting_count(event))
    lines.append(_("Registrations whose status does not allow it are skipped and counted."))
    fields: list[tuple[str, object]] = [("action", decision.value), ("reason", reason)]
    fields += [(name, value) for name, value in filters.params().items()]
    fields += [("ids", n) for n in ids]
    labels = {Decision.APPROVE: _("Approve"), Decision.REJECT: _("Reject"),
              Decision.WAITLIST: _("Move to waitlist")}
    return Confirmation(
        titles[decision], lines, labels[decision], fields,
        back_url=url_for(".registrations", event_id=event.id, **filters.params()),
        back_label=_("Registrations"), danger=decision != Decision.APPROVE,
    ).render()


@bp.route("/events/<int:event_id>/categories", methods=["GET", "POST"])
def categories(event_id: int) -> Response | str:
    """Which categories may register, their seat caps, review and an extra question."""
    event = event_for(event_id, Permission.EDIT_EVENT)
    form = category_settings_form(services.category_settings(event))
    if form.validate_on_submit():
        try:
            moved_up = services.save_category_settings(event, form.values(), actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("The category settings are saved."), "success")
            if moved_up:
                flash(moved_up_message(len(moved_up)), "info")
            return redirect(url_for(".categories", event_id=event.id), code=303)
    return render_template(
        "roster/categories.html",
        event=event,
        form=form,
        categories=Category,
        category_labels=CATEGORY_LABELS,
        invitation_only=INVITATION_ONLY,
    )


@bp.route("/events/<int:event_id>/registrations/flood", methods=["GET", "POST"])
def flood_cancel(event_id: int) -> Response | str:
    """Cancel a flood of registrations: filter, preview the count and the first rows, tick that
    you understand, then cancel in one transaction. Refuses if the count changed. Audited."""
    event = event_for(event_id, Permission.MESSAGE)
    form = FloodCancelForm()
    preview = None
    if form.validate_on_submit():
        filters = flood_filters(form, event)
        expected = form.ready_to_cancel() if request.form.get("step") == "cancel" else None
        try:
            if expected is not None:
                result = flood.cancel_flood(
                    event, filters, expected, notify_people=bool(form.notify_people.data),
                    actor=current_actor(),
                )
                db.session.commit()
                flash(ngettext("%(num)d registration cancelled.",
                               "%(num)d registrations cancelled.", result.cancelled), "success")
                if result.promoted:
                    flash(moved_up_message(result.promoted), "info")
                return redirect(url_for(".registrations", event_id=event.id), code=303)
        except DomainError as error:  # the preview below shows a refused filter beside it
            db.session.rollback()
            if isinstance(error, flood.FloodChanged | Busy):
                flash(error.message, "error")
            if isinstance(error, flood.FloodChanged):
                form.understood.data = False
        try:
            preview = flood.preview_flood(event, filters, actor=current_actor())
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
    return render_template(
        "roster/flood.html",
        event=event, form=form, preview=preview, status_label=status_label,
    )
