"""Staff pages of protected guests (invitations/protected.py): registering one, the handout
sheet staff print and give them in person, showing and changing the real name.

Every page here needs `Permission.PROTECTED` (admins and the event's organizers); anyone else
gets 404, as for a record that does not exist. The real name is shown only in the answer to a
POST (which is recorded), never on a page one can reload or find in the history.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional

from nkhr_events.accounts.access import Permission, event_for, registration_for
from nkhr_events.accounts.roles import require_staff
from nkhr_events.checkin import services as checkin
from nkhr_events.errors import Busy, DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.invitations import protected
from nkhr_events.invitations.forms import ActionForm
from nkhr_events.registrations import interpretation as interpreting
from nkhr_events.registrations.categories import category_label
from nkhr_events.registrations.forms import interpretation_choices
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.roster import exports
from nkhr_events.validators import Form, Length, MultiCheckboxField, language_choices, show_error
from nkhr_events.web import current_actor, event_days_text, retry_later

bp = require_staff(Blueprint("protected_manage", __name__, url_prefix="/manage"))
PERMISSION = Permission.PROTECTED


class NamesForm(Form):
    pseudonym = StringField(
        _l("Pseudonym"),
        description=_l(
            "Shown instead of the name on badges, lists, the door screen and exports."
        ),
        validators=[
            DataRequired(_l("Enter the pseudonym.")), Length(max=protected.PSEUDONYM_LIMIT)
        ],
    )
    real_name = StringField(
        _l("Real name"),
        description=_l(
            "Kept encrypted; only admins and the event's organizers can see it, and each look "
            "is recorded."
        ),
        validators=[
            DataRequired(_l("Enter the real name.")), Length(max=protected.REAL_NAME_LIMIT)
        ],
        render_kw={"autocomplete": "off"},
    )


class ProtectedGuestForm(NamesForm):
    category = SelectField(_l("Category"), validators=[InputRequired(_l("Choose a category."))])
    language = RadioField(
        _l("Language of the handout sheet"),
        choices=language_choices(),
        default="en",
        validators=[InputRequired(_l("Choose a language."))],
    )
    days = MultiCheckboxField(
        _l("Days they attend"), validators=[DataRequired(_l("Choose at least one day."))]
    )
    interpretation = RadioField(
        _l("Interpretation"),
        default=interpreting.NO_INTERPRETATION,
        validators=[InputRequired(_l("Choose an interpretation option."))],
        invalid_choice_message=interpreting.NOT_OFFERED,
    )
    accessibility_needs = TextAreaField(
        _l("Accessibility needs"), validators=[Optional(), Length(max=1000)], render_kw={"rows": 2}
    )
    dietary_needs = TextAreaField(
        _l("Dietary needs"), validators=[Optional(), Length(max=500)], render_kw={"rows": 2}
    )
    privacy_consent = BooleanField(
        _l("The person has read the privacy notice (or had it read to them) and agreed to it "
           "in person"),
        validators=[DataRequired(_l("Confirm that the person agreed to the privacy notice."))],
    )


def _guest_form(event_categories: list[str], days: list[SelectChoice],
                interpretation: list[SelectChoice]) -> ProtectedGuestForm:
    form = ProtectedGuestForm()
    form.category.choices = [SelectChoice(c, category_label(c)) for c in event_categories]
    if len(days) > 1:
        form.days.choices = days
        if not form.is_submitted():
            form.days.data = [choice.value for choice in days]  # every day, until unticked
    else:
        del form.days
    if len(interpretation) > 1:
        form.interpretation.choices = interpretation
    else:
        del form.interpretation
    return form


@bp.route("/events/<int:event_id>/protected-guests/new", methods=["GET", "POST"])
def new(event_id: int) -> Response | str | tuple[str, int, dict[str, str]]:
    """Register a protected guest; then the handout sheet to print. Audited."""
    event = event_for(event_id, PERMISSION)
    form = _guest_form(
        protected.protected_categories(event),
        [SelectChoice(d.isoformat(), event_days_text([d])) for d in event.day_list],
        interpretation_choices(event),
    )
    if form.validate_on_submit():
        days = getattr(form, "days", None)
        chosen = getattr(form, "interpretation", None)
        data = protected.ProtectedInput(
            form.pseudonym.data, form.real_name.data, form.category.data, form.language.data,
            [d for d in event.day_list if days is not None and d.isoformat() in days.data],
            chosen.data if chosen is not None else interpreting.NO_INTERPRETATION,
            form.accessibility_needs.data or "", form.dietary_needs.data or "",
            bool(form.privacy_consent.data),
        )
        try:
            registration = protected.register_protected(event, data, actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
            if isinstance(error, Busy):
                return retry_later(_new_page(event, form), error)
        else:
            db.session.commit()
            flash(_("The protected guest is registered. Print this sheet and hand it over."),
                  "success")
            return redirect(url_for(".handout", event_id=event.id,
                                    registration_id=registration.id), code=303)
    return _new_page(event, form)


def _new_page(event: Event, form: ProtectedGuestForm) -> str:
    return render_template("invitations/protected_new.html", event=event, form=form)


def _not_protected(registration: Registration) -> Response:
    flash(_("This person is not a protected guest."), "info")
    return redirect(url_for("roster_manage.registration", registration_id=registration.id),
                    code=303)


@bp.get("/events/<int:event_id>/registrations/<int:registration_id>/handout")
def handout(event_id: int, registration_id: int) -> Response | str:
    """The sheet given to a protected guest in person: the event, their pseudonym and their
    check-in code, in their language. Audited."""
    event = event_for(event_id, PERMISSION)
    registration = registration_for(registration_id, PERMISSION)
    if registration.event_id != event.id:
        abort(404)
    if not registration.protected:
        return _not_protected(registration)
    confirmed = registration.status == RegistrationStatus.CONFIRMED
    with force_locale(registration.language):
        sheet = render_template(
            "invitations/protected_sheet.html",
            event=event,
            registration=registration,
            # Inline SVG drawn here, as on badges: no image from elsewhere, nothing for the CSP.
            qr=exports.badges([registration])[0].qr_svg if confirmed else None,
            reference=checkin.checkin_reference(registration) if confirmed else None,
        )
    protected.record_handout(registration, actor=current_actor())
    db.session.commit()  # the check-in salt, if this was its first use, and the audit entry
    return render_template(
        "invitations/protected_handout.html",
        event=event,
        registration=registration,
        sheet=Markup(sheet),
        confirmed=confirmed,
    )


@bp.post("/registrations/<int:registration_id>/real-name")
def reveal(registration_id: int) -> Response | str:
    """Show the real name (in this answer only) with the form to change the names. Audited."""
    registration = registration_for(registration_id, PERMISSION)
    if not ActionForm().validate_on_submit():
        return _person(registration)
    try:
        real_name = protected.reveal_real_name(registration, actor=current_actor())
    except DomainError:
        return _not_protected(registration)
    db.session.commit()
    names = NamesForm(formdata=None, data={"pseudonym": registration.given_name,
                                           "real_name": real_name})
    return render_template("invitations/protected_names.html", registration=registration,
                           event=registration.event, form=names)


def _person(registration: Registration) -> Response:
    return redirect(url_for("roster_manage.registration", registration_id=registration.id),
                    code=303)


@bp.post("/registrations/<int:registration_id>/protected-names")
def change(registration_id: int) -> Response | str:
    """Change the pseudonym and the real name; unchanged, nothing is recorded. Audited."""
    registration = registration_for(registration_id, PERMISSION)
    if not registration.protected:
        return _not_protected(registration)
    form = NamesForm()
    if form.validate_on_submit():
        try:
            changed = protected.change_names(
                registration, form.pseudonym.data, form.real_name.data, actor=current_actor()
            )
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("The names are saved.") if changed else _("Nothing changed."),
                  "success" if changed else "info")
            return _person(registration)
    return render_template("invitations/protected_names.html", registration=registration,
                           event=registration.event, form=form)
