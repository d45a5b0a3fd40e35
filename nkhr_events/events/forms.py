"""The staff event form."""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib.resources import files
from pathlib import Path
from zoneinfo import TZPATH, available_timezones

from babel import Locale
from babel.dates import get_timezone_location, get_timezone_name
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, NumberRange, Optional, Regexp, ValidationError

from nkhr_events.events.models import (
    DEFAULT_DOOR_OPENS_AT,
    EMAIL_CONFIRMATION_MINUTES_MAX,
    EMAIL_CONFIRMATION_MINUTES_MIN,
)
from nkhr_events.events.texts import CONTENT_LANGUAGES, EVENT_TEXT_FIELDS, text_column
from nkhr_events.validators import (
    RANGE_MESSAGE,
    CountryField,
    Form,
    Length,
    MultiCheckboxField,
    WholeNumberField,
)

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


#: Time zones this conference series meets in or works with, offered first: past host cities
#: (Seoul, Tokyo, Prague, Warsaw, Bergen, London, Melbourne, Toronto), the UN and
#: parliaments (New York and Washington, Geneva, Brussels), Berlin, and Bangkok on the route
#: many escapees take; then UTC.
COMMON_ZONES = (
    "Asia/Seoul",
    "Asia/Tokyo",
    "Europe/Prague",
    "Europe/Warsaw",
    "Europe/Oslo",
    "Europe/London",
    "Australia/Melbourne",
    "America/Toronto",
    "America/New_York",
    "Europe/Zurich",
    "Europe/Brussels",
    "Europe/Berlin",
    "Asia/Bangkok",
    "UTC",
)


@cache
def canonical_zones() -> frozenset[str]:
    """The time zones people choose between: one per region of a country as the tz database's
    zone.tab lists them (no backward-compatible links such as "US/Eastern", "Japan" or "ROK",
    no "Etc/GMT+9"), and UTC."""
    text = ""
    for root in (*TZPATH, None):
        try:
            if root is None:
                text = files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
            else:
                text = (Path(root) / "zone.tab").read_text("utf-8")
            break
        except (OSError, ModuleNotFoundError):
            continue
    listed = {
        line.split("\t")[2] for line in text.splitlines() if line and not line.startswith("#")
    }
    return frozenset((listed & available_timezones()) | {"UTC"})


def zone_label(zone: str, locale: Locale) -> str:
    """A zone as a reader finds it: its city and the time's name in the reader's language,
    then the zone's own name ("서울 (한국 시간) – Asia/Seoul")."""
    if zone == "UTC":
        return "UTC"
    try:
        city = get_timezone_location(zone, locale=locale, return_city=True)
        name = get_timezone_name(zone, "long", zone_variant="generic", locale=locale)
    except LookupError:
        return zone
    return f"{city} ({name}) – {zone}"


@cache
def _zone_groups(language: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    locale = Locale.parse(language)
    common = [(zone, zone_label(zone, locale)) for zone in COMMON_ZONES]
    rest = sorted(
        ((zone, zone_label(zone, locale)) for zone in canonical_zones() - set(COMMON_ZONES)),
        key=lambda choice: choice[1].casefold(),
    )
    return common, rest


def timezone_choices(current: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """The time-zone list in two groups, the common zones first, labelled in the reader's
    language. An event saved with an older name of a zone ("Asia/Calcutta") keeps it: it is
    offered first, as it is."""
    common, rest = _zone_groups(str(get_locale() or "en"))
    if current and current not in canonical_zones() and current in available_timezones():
        common = [(current, str(_l("%(zone)s (older name)", zone=current))), *common]
    return {str(_l("Common time zones")): common, str(_l("All time zones")): rest}


def parse_day_lines(text: str) -> list[date]:
    """Dates written one per line (or separated by commas) as YYYY-MM-DD."""
    days = []
    for part in text.replace(",", "\n").split():
        days.append(date.fromisoformat(part.strip()))
    return days


class EventForm(Form):
    series_id = SelectField(_l("Series"), coerce=int, validators=[DataRequired()])
    languages = MultiCheckboxField(
        _l("Languages of the event"),
        choices=[
            SelectChoice("en", _l("English")),
            SelectChoice("ko", _l("Korean")),
            SelectChoice("ja", _l("Japanese")),
        ],
        default=["en", "ko"],
        description=_l(
            "Its texts are written in these. A reader of another language reads the first of "
            "them that has the text."
        ),
    )
    slug = StringField(
        _l("Web address"),
        description=_l("Lower-case letters, digits and hyphens, e.g. icnkhr-2027-seoul."),
        validators=[
            DataRequired(_l("Give the event a web address.")),
            Length(max=80),
            Regexp(SLUG_PATTERN, message=_l("Use lower-case letters, digits and hyphens only.")),
        ],
    )
    #: The address last suggested from the title (manage._suggest_slug): while the field still
    #: holds it, a corrected title gets a new suggestion instead of keeping the old one.
    slug_suggested = HiddenField(validators=[Length(max=80)])
    start_date = DateField(
        _l("First day"), validators=[DataRequired(_l("Give the first day (YYYY-MM-DD)."))]
    )
    end_date = DateField(
        _l("Last day"),
        description=_l("Leave empty for a one-day event."),
        validators=[Optional()],
    )
    skipped_days = TextAreaField(
        _l("Days without sessions"),
        description=_l(
            "Days between the first and the last on which the event does not meet, "
            "one per line (YYYY-MM-DD). Leave empty if it meets every day."
        ),
        validators=[Optional(), Length(max=400)],
        render_kw={"rows": 2},
    )
    country = CountryField(_l("Country"), validators=[DataRequired(_l("Choose the country."))])
    timezone = SelectField(
        _l("Time zone"), default="Asia/Seoul", validators=[DataRequired()]
    )
    door_opens_at = TimeField(
        _l("Door opens at"),
        description=_l(
            "Local time, on each day of the event: check-in is accepted from then until the "
            "end of the day."
        ),
        default=DEFAULT_DOOR_OPENS_AT,
        validators=[DataRequired(_l("Give the hour the door opens (HH:MM)."))],
    )
    # The texts in each language (title, title_ko, title_ja, venue, ...): see `_text_fields`.
    interpretation_pairs = MultiCheckboxField(
        _l("Interpretation offered"),
        choices=[
            SelectChoice("en-ko", _l("English ↔ Korean")),
            SelectChoice("en-ja", _l("English ↔ Japanese")),
            SelectChoice("ja-ko", _l("Japanese ↔ Korean")),
        ],
        default=["en-ko"],
        description=_l(
            "Attendees choose a channel into either language of a pair. None ticked: the form "
            "does not ask about interpretation."
        ),
    )
    capacity = WholeNumberField(
        _l("Capacity (seats)"),
        description=_l("Leave empty while the number of seats is not known."),
        validators=[Optional(), NumberRange(min=0, max=100000, message=RANGE_MESSAGE)],
    )
    retention_days = WholeNumberField(
        _l("Keep personal data for (days after the event)"),
        description=_l(
            "Then registrations and partner contact persons of this event are anonymized."
        ),
        default=180,
        validators=[Optional(), NumberRange(min=1, max=3650, message=RANGE_MESSAGE)],
    )
    registration_opens_at = DateTimeLocalField(
        _l("Registration opens"),
        description=_l("In the event's time zone. Leave empty to keep registration closed."),
        validators=[Optional()],
    )
    registration_closes_at = DateTimeLocalField(
        _l("Registration closes"), description=_l("In the event's time zone."),
        validators=[Optional()],
    )
    email_confirmation_minutes = WholeNumberField(
        _l("Ask people to confirm their email address within (minutes)"),
        description=_l(
            "Against fake registrations: each new place is held that long, then released to "
            "the waitlist unless the person presses “Confirm my email address” on the page "
            "their email links to. For example 60. Leave empty to not ask."
        ),
        validators=[
            Optional(),
            NumberRange(
                min=EMAIL_CONFIRMATION_MINUTES_MIN,
                max=EMAIL_CONFIRMATION_MINUTES_MAX,
                message=RANGE_MESSAGE,
            ),
        ],
    )
    show_seat_counts = BooleanField(
        _l("Show the number of seats left and of people waiting"),
        description=_l(
            "On the event page and the registration pages. Off: they say only whether a new "
            "registration gets a seat, is reviewed first or joins the waiting list."
        ),
    )
    participant_list = SelectField(
        _l("Participant list"),
        choices=[
            SelectChoice("off", _l("Off")),
            SelectChoice("public", _l("Public, on the event page")),
            SelectChoice(
                "participants", _l("Only confirmed participants, through their private link")
            ),
        ],
        default="off",
        description=_l(
            "Lists only confirmed people who agreed to be listed, with name and organization."
        ),
    )
    participant_list_by_category = BooleanField(
        _l("Participants see only their own category"),
    )

    def texts_of(self, language: str) -> list[StringField | TextAreaField]:
        """The text fields of one language, in the order the form shows them."""
        return [getattr(self, text_column(name, language)) for name in EVENT_TEXT_FIELDS]

    def validate_end_date(self, field: DateField) -> None:
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The last day cannot be before the first."))

    def validate_skipped_days(self, field: TextAreaField) -> None:
        try:
            days = parse_day_lines(field.data or "")
        except ValueError as exc:
            raise ValidationError(_l("Write each day as YYYY-MM-DD, one per line.")) from exc
        first, last = self.start_date.data, self.end_date.data or self.start_date.data
        if first and last and last < first:
            return  # the end date's own error says what is wrong
        if first and last and any(not first < d < last for d in days):
            raise ValidationError(_l("Only days strictly between the first and the last."))


#: Each text's label in each language, spelled out so that every field has a name of its own
#: (in the error summary too), and its length limit.
_TEXT_LABELS = {
    "title": (200, {"en": _l("Title in English"), "ko": _l("Title in Korean"),
                    "ja": _l("Title in Japanese")}),
    "venue": (200, {"en": _l("Venue in English"), "ko": _l("Venue in Korean"),
                    "ja": _l("Venue in Japanese")}),
    "city": (100, {"en": _l("City in English"), "ko": _l("City in Korean"),
                   "ja": _l("City in Japanese")}),
    "description": (5000, {"en": _l("Description in English"), "ko": _l("Description in Korean"),
                           "ja": _l("Description in Japanese")}),
}


def _text_fields() -> None:
    """Add title, title_ko, title_ja, venue, ... to EventForm: one field per text and language,
    each marked with its language (`lang`) so that spelling and input methods follow it."""
    for name in EVENT_TEXT_FIELDS:
        limit, labels = _TEXT_LABELS[name]
        for language in CONTENT_LANGUAGES:
            render_kw: dict[str, object] = {"lang": language}
            if name == "description":
                field: StringField | TextAreaField = TextAreaField(
                    labels[language], validators=[Optional(), Length(max=limit)],
                    render_kw={**render_kw, "rows": 6},
                )
            else:
                field = StringField(
                    labels[language], validators=[Optional(), Length(max=limit)],
                    render_kw=render_kw,
                )
            setattr(EventForm, text_column(name, language), field)


_text_fields()
