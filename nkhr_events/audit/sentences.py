"""The audit trail as sentences with names, in the reader's language: "Min-ji Park approved
Ada Lovelace (Journalist)", page views grouped ("… viewed the roster 14 times today") and
details as labelled fields. Names come from one batched lookup per kind of record, never one
query per entry.

Who is named: staff by their name (else their address); attendees by their name in its own
order (a protected guest's registration already holds the pseudonym); an erased registration as
such; a speaker by their real name only when the reader organizes the event, else as others see
them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from nkhr_events.accounts.models import StaffUser
from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import is_page_view, view_actions_like
from nkhr_events.extensions import db

__all__ = ["Detail", "Line", "Names", "is_page_view", "lines", "view_actions_like"]
from nkhr_events.partners.models import Partner, Partnership
from nkhr_events.programme import display
from nkhr_events.programme.models import Speaker
from nkhr_events.registrations.categories import category_name
from nkhr_events.registrations.models import Registration

# Sentences by action: `actor` is who acted, `object` what it was done to.
SENTENCES: dict[str, Any] = {
    "account.create": _l("%(actor)s created the staff account of %(object)s"),
    "account.deactivate": _l("%(actor)s deactivated the staff account of %(object)s"),
    "account.reactivate": _l("%(actor)s reactivated the staff account of %(object)s"),
    "account.role_change": _l("%(actor)s changed the role of %(object)s"),
    "account.passkey_add": _l("%(actor)s added a passkey"),
    "account.passkey_add_failed": _l("%(actor)s failed to add a passkey"),
    "account.passkey_remove": _l("%(actor)s removed a passkey"),
    "account.password_change": _l("%(actor)s changed their password"),
    "account.password_reset": _l("%(actor)s reset their password"),
    "account.password_reset_request": _l("%(actor)s asked for a password reset"),
    "account.two_factor_enrol": _l("%(actor)s set up two-factor sign-in"),
    "account.two_factor_enrol_failed": _l("%(actor)s failed to set up two-factor sign-in"),
    "account.two_factor_recovery_code_used": _l("%(actor)s signed in with a recovery code"),
    "account.two_factor_recovery_codes": _l("%(actor)s made new recovery codes"),
    "account.two_factor_reset": _l("%(actor)s reset the two-factor sign-in of %(object)s"),
    "auth.sign_in": _l("%(actor)s signed in"),
    "auth.sign_in_failed": _l("%(actor)s failed to sign in"),
    "auth.sign_in_delayed": _l("%(actor)s had to wait before signing in"),
    "auth.sign_in_locked": _l("%(actor)s was refused: the account is locked"),
    "auth.lockout": _l("%(actor)s was locked out after failed sign-ins"),
    "auth.password_accepted": _l("%(actor)s entered the right password"),
    "auth.sign_out": _l("%(actor)s signed out"),
    "auth.session_end": _l("%(actor)s ended a session"),
    "auth.session_end_others": _l("%(actor)s ended their other sessions"),
    "event.create": _l("%(actor)s created the event"),
    "event.update": _l("%(actor)s edited the event"),
    "event.publish": _l("%(actor)s published the event"),
    "event.unpublish": _l("%(actor)s moved the event back to draft"),
    "event.archive": _l("%(actor)s archived the event"),
    "event.categories": _l("%(actor)s changed the category settings"),
    "event.email_confirmation": _l("%(actor)s changed the email confirmation setting"),
    "registration.create": _l("%(object)s registered"),
    "registration.approve": _l("%(actor)s approved %(object)s"),
    "registration.reject": _l("%(actor)s rejected %(object)s"),
    "registration.waitlist": _l("%(actor)s put %(object)s on the waitlist"),
    "registration.promote": _l("%(actor)s gave %(object)s a seat from the waitlist"),
    "registration.release": _l("%(actor)s released the seat of %(object)s"),
    "registration.cancel": _l("%(actor)s cancelled the registration of %(object)s"),
    "registration.update": _l("%(actor)s changed the registration of %(object)s"),
    "registration.edit": _l("%(actor)s edited the registration of %(object)s"),
    "registration.notes": _l("%(actor)s changed the notes about %(object)s"),
    "registration.email_confirm": _l("%(object)s confirmed their email address"),
    "registration.erase": _l("%(actor)s erased a registration"),
    "registration.flood_cancel": _l("%(actor)s cancelled %(object)s as part of a flood"),
    "registration.link_resent": _l("%(actor)s sent %(object)s a fresh private link"),
    "registration.checkin": _l("%(actor)s checked in %(object)s"),
    "registration.checkin_undo": _l("%(actor)s undid the check-in of %(object)s"),
    "roster.message": _l("%(actor)s wrote to a group"),
    "roster.flood_cancel": _l("%(actor)s cancelled a flood of registrations"),
    "reservation.lapse": _l("%(actor)s released a reserved block that lapsed"),
    "group.create": _l("%(actor)s created a group registration"),
    "group.add": _l("%(actor)s added people to a group registration"),
    "group.remove": _l("%(actor)s removed people from a group registration"),
    "group.replace": _l("%(actor)s replaced a member of a group registration"),
    "group.revoke": _l("%(actor)s revoked a group registration"),
    "group.resend": _l("%(actor)s sent a group's link again"),
    "group.erase_contacts": _l("%(actor)s erased the contacts of groups"),
    "invitation.create": _l("%(actor)s created an invitation"),
    "invitation.batch": _l("%(actor)s created invitations from a list"),
    "invitation.open": _l("%(actor)s opened an invitation"),
    "invitation.accept": _l("%(actor)s accepted an invitation"),
    "invitation.decline": _l("%(actor)s declined an invitation"),
    "invitation.remind": _l("%(actor)s sent a reminder about an invitation"),
    "invitation.resend": _l("%(actor)s sent an invitation again"),
    "invitation.revoke": _l("%(actor)s revoked an invitation"),
    "protected.register": _l("%(actor)s registered a protected guest, %(object)s"),
    "protected.change": _l("%(actor)s changed the protected guest %(object)s"),
    "protected.handout": _l("%(actor)s printed the handout for %(object)s"),
    "protected.reveal": _l("%(actor)s looked up the real name of %(object)s"),
    "outbox.retry": _l("%(actor)s retried an email"),
    "outbox.cancel": _l("%(actor)s cancelled an email"),
    "partnership.apply": _l("%(object)s applied as a partner"),
    "partnership.approve": _l("%(actor)s approved the partnership of %(object)s"),
    "partnership.decline": _l("%(actor)s declined the partnership of %(object)s"),
    "partnership.withdraw": _l("%(actor)s withdrew the partnership of %(object)s"),
    "partnership.placement": _l("%(actor)s placed the logo of %(object)s"),
    "partnership.tiers": _l("%(actor)s changed the sponsor tiers"),
    "partner.edit": _l("%(actor)s edited the partner %(object)s"),
    "speaker.invite": _l("%(actor)s invited the speaker %(object)s"),
    "speaker.resend": _l("%(actor)s sent the speaker %(object)s their link again"),
    "speaker.accept": _l("The speaker %(object)s accepted"),
    "speaker.decline": _l("The speaker %(object)s declined"),
    "speaker.update": _l("%(actor)s edited the speaker %(object)s"),
    "speaker.photo": _l("%(actor)s added a photo of the speaker %(object)s"),
    "speaker.photo_remove": _l("%(actor)s removed the photo of the speaker %(object)s"),
    "programme_session.create": _l("%(actor)s added a session to the programme"),
    "programme_session.update": _l("%(actor)s edited a session of the programme"),
    "programme_session.delete": _l("%(actor)s removed a session from the programme"),
    "session_signup.create": _l("%(actor)s signed up for a session"),
    "session_signup.approve": _l("%(actor)s approved a session sign-up"),
    "session_signup.reject": _l("%(actor)s rejected a session sign-up"),
    "session_signup.waitlist": _l("%(actor)s put a session sign-up on the waitlist"),
    "session_signup.promote": _l("%(actor)s gave a session place from the waitlist"),
    "session_signup.cancel": _l("%(actor)s cancelled a session sign-up"),
    "session_signup.checkin": _l("%(actor)s checked someone in to a session"),
    "session_signup.uncheck": _l("%(actor)s undid a session check-in"),
    "visa.request": _l("%(actor)s asked for a visa letter"),
    "visa.withdraw": _l("%(actor)s withdrew a visa letter request"),
    "visa.approve": _l("%(actor)s approved a visa letter"),
    "visa.decline": _l("%(actor)s declined a visa letter"),
    "visa.purge": _l("%(actor)s purged the visa letter requests"),
    "documents.issue_visa_letter": _l("%(actor)s issued a visa letter"),
    "documents.issue_certificate": _l("%(actor)s issued a certificate of attendance"),
    "documents.revoke": _l("%(actor)s revoked a document"),
    "documents.settings_update": _l("%(actor)s changed the document settings"),
    "documents.verified": _l("%(actor)s checked a document's authenticity"),
    "documents.certificates_mail": _l("%(actor)s mailed the certificates of attendance"),
    "archive.move": _l("%(actor)s changed the order of the archive"),
    "archive.document_add": _l("%(actor)s added a document to the archive"),
    "archive.document_delete": _l("%(actor)s removed a document from the archive"),
    "archive.photo_add": _l("%(actor)s added a photo to the archive"),
    "archive.photo_delete": _l("%(actor)s removed a photo from the archive"),
    "archive.photo_consent": _l("%(actor)s recorded consent for a photo"),
    "archive.photo_withdraw": _l("%(actor)s withdrew a photo"),
    "team_member.add": _l("%(actor)s added %(object)s to the event team"),
    "team_member.change": _l("%(actor)s changed the role of %(object)s in the event team"),
    "team_member.remove": _l("%(actor)s removed %(object)s from the event team"),
    "privacy.purge": _l("%(actor)s purged personal data past its retention period"),
    "privacy.rotate_key": _l("%(actor)s rotated the encryption key"),
    "inquiry.reply": _l("%(actor)s replied to an inquiry"),
    "inquiry.status": _l("%(actor)s changed the status of an inquiry"),
    # Page views and copies of data, one at a time (the audit trail lists them so; the
    # dashboard groups them with `_view_text`).
    "roster.view": _l("%(actor)s viewed the roster"),
    "roster.export": _l("%(actor)s exported the roster"),
    "roster.export_real_names": _l("%(actor)s exported the roster with protected guests' "
                                   "real names"),
    "roster.export_protected": _l("%(actor)s exported the roster with protected people"),
    "roster.print": _l("%(actor)s printed from the roster"),
    "roster.flood_preview": _l("%(actor)s previewed a flood cancellation"),
    "registration.view": _l("%(actor)s viewed the page of %(object)s"),
    "registration.edit_view": _l("%(actor)s opened the edit form of %(object)s"),
    "registration.data_download": _l("%(actor)s downloaded the data of %(object)s"),
    "speaker.view": _l("%(actor)s viewed the page of the speaker %(object)s"),
    "visa.view": _l("%(actor)s viewed the passport data of a visa letter request"),
    "visa.export": _l("%(actor)s exported the visa letter requests"),
    "outbox.view": _l("%(actor)s viewed an email"),
    "outbox.attachment": _l("%(actor)s downloaded an attachment of an email"),
}

def _view_text(action: str, num: int, values: dict[str, Any]) -> str:
    # Spelled out for the message extractor: ngettext needs literal strings.
    if action == "roster.view":
        text = ngettext("%(actor)s viewed the roster %(num)d time %(when)s",
                        "%(actor)s viewed the roster %(num)d times %(when)s", num, **values)
    elif action == "roster.export":
        text = ngettext("%(actor)s exported the roster %(num)d time %(when)s",
                        "%(actor)s exported the roster %(num)d times %(when)s", num, **values)
    elif action == "roster.print":
        text = ngettext("%(actor)s printed from the roster %(num)d time %(when)s",
                        "%(actor)s printed from the roster %(num)d times %(when)s", num,
                        **values)
    elif action == "registration.view":
        text = ngettext("%(actor)s viewed the page of %(object)s %(num)d time %(when)s",
                        "%(actor)s viewed the page of %(object)s %(num)d times %(when)s", num,
                        **values)
    else:
        text = ngettext("%(actor)s looked at %(object)s %(num)d time %(when)s",
                        "%(actor)s looked at %(object)s %(num)d times %(when)s", num, **values)
    return str(text)


# When the attendee acted on their own registration.
OWN_SENTENCES: dict[str, Any] = {
    "registration.cancel": _l("%(object)s cancelled their registration"),
    "registration.update": _l("%(object)s changed their registration"),
    "registration.create": _l("%(object)s registered"),
}

# Status values, said in the reader's language (values not named here are shown as they are):
# registrations, partnerships, inquiries, visa letter requests, events and staff accounts, with
# the words their own pages use.
STATUS_LABELS: dict[str, Any] = {
    "pending": _l("Awaiting review"),
    "confirmed": _l("Confirmed"),
    "waitlisted": _l("Waitlisted"),
    "cancelled": _l("Cancelled"),
    "rejected": _l("Rejected"),
    "open": _l("Open"),
    "answered": _l("Answered"),
    "approved": _l("Approved"),
    "declined": _l("Declined"),
    "withdrawn": _l("Withdrawn"),
    "applied": _l("Applied"),
    "requested": _l("Requested"),
    "revoked": _l("Revoked"),
    "draft": _l("Draft"),
    "published": _l("Published"),
    "archived": _l("Archived"),
    "active": _l("Active"),
    "inactive": _l("Inactive"),
}

# Other coded values, by the detail key that holds them.
VALUE_LABELS: dict[str, dict[str, Any]] = {
    "second_factor": {
        "code": _l("Code from the authenticator app"),
        "recovery_code": _l("Recovery code"),
        "passkey": _l("Passkey"),
    },
    "override": {
        "not_registered_day": _l("Not a day of the person's registration"),
        "door_not_open": _l("The door was not open yet"),
        "day_over": _l("The day was over"),
    },
    "reason": {
        "unknown_address": _l("Unknown address"),
        "wrong_password": _l("Wrong password"),
        "inactive": _l("Account deactivated"),
        "wrong_code": _l("Wrong code"),
        "passkey_refused": _l("Passkey not accepted"),
        "not_verified": _l("Passkey not accepted"),
    },
}

# Kinds of record, as the Record column and its filter name them (kinds not named here are
# spelled out from their code).
RECORD_TYPES: dict[str, Any] = {
    "archive_document": _l("Archive document"),
    "archive_photo": _l("Archive photo"),
    "certificate_mailing": _l("Certificate mailing"),
    "document_settings": _l("Document settings"),
    "event": _l("Event"),
    "inquiry": _l("Inquiry"),
    "invitation": _l("Invitation"),
    "issued_document": _l("Document"),
    "outbox_message": _l("Email message"),
    "partner": _l("Partner organization"),
    "partnership": _l("Partnership"),
    "programme_session": _l("Session"),
    "registration": _l("Registration"),
    "registration_group": _l("Group"),
    "seat_reservation": _l("Reserved block"),
    "session_signup": _l("Session sign-up"),
    "speaker": _l("Speaker"),
    "staff_user": _l("Staff account"),
    "team_member": _l("Team member"),
    "visa_letter_request": _l("Visa letter request"),
}

# Detail keys, labelled.
DETAIL_LABELS: dict[str, Any] = {
    "filters": _l("Filters"),
    "count": _l("Count"),
    "reason": _l("Reason"),
    "changed": _l("Changed"),
    "fields": _l("Fields"),
    "role": _l("Role"),
    "category": _l("Category"),
    "status": _l("Status"),
    "note": _l("Note"),
    "reference": _l("Reference"),
    "references": _l("References"),
    "language": _l("Language"),
    "day": _l("Day"),
    "columns": _l("Columns"),
    "format": _l("Format"),
    "promoted": _l("Moved up from the waitlist"),
    "search": _l("Search"),
    "sort": _l("Sort"),
    "page": _l("Page"),
    "second_factor": _l("Second factor"),
    "after": _l("After"),
    "before": _l("Before"),
    "categories": _l("Categories"),
    "changes_until": _l("Changes possible until"),
    "days": _l("Days"),
    "email": _l("Email"),
    "emailed": _l("Emails queued"),
    "encrypted": _l("Newly encrypted"),
    "ended": _l("Signed-in sessions ended"),
    "expected": _l("Expected"),
    "filename": _l("File name"),
    "groups": _l("Groups"),
    "height": _l("Height (pixels)"),
    "holds_lifted": _l("Holds lifted"),
    "invited": _l("Invited by email"),
    "kind": _l("Kind"),
    "left": _l("Recovery codes left"),
    "length": _l("Length (characters)"),
    "logo": _l("Logo"),
    "name": _l("Name"),
    "needs": _l("Needs"),
    "override": _l("Rule overridden"),
    "pages": _l("Pages"),
    "partner_id": _l("Partner number"),
    "passkeys_removed": _l("Passkeys removed"),
    "passport_data": _l("With passport data"),
    "places": _l("Places"),
    "places_released": _l("Places released"),
    "position": _l("Position"),
    "requests": _l("Requests"),
    "reserved": _l("Places reserved"),
    "reserved_until": _l("Reserved until"),
    "rotated": _l("Re-encrypted with the new key"),
    "sent": _l("Times sent"),
    "session": _l("Session"),
    "sha256": _l("SHA-256 checksum"),
    "size": _l("Size"),
    "slug": _l("Web address"),
    "template": _l("Template"),
    "width": _l("Width (pixels)"),
    "cancelled": _l("Cancelled"),
    "emails_withdrawn": _l("Emails withdrawn"),
    "partnership": _l("Partnership"),
    "passkey": _l("Passkey"),
    "published": _l("Published"),
    "real_names": _l("With real names"),
    "registration": _l("Registration"),
    "scanned_at": _l("Scanned at"),
    "website": _l("Website"),
}
#: Fields named in an edit's "fields", as the forms label them.
FIELD_LABELS: dict[str, Any] = {
    # A registration.
    "given_name": _l("Given name"),
    "family_name": _l("Family name"),
    "badge_name": _l("Name for your badge"),
    "email": _l("Email"),
    "organization": _l("Organization or affiliation"),
    "position": _l("Position"),
    "country": _l("Country"),
    "language": _l("Language for our emails"),
    "answers": _l("Questions for your category"),
    "interpretation": _l("Interpretation"),
    "accessibility_needs": _l("Accessibility needs"),
    "dietary_needs": _l("Dietary needs"),
    "publish_name": _l("Publish my name and organization in the participant list"),
    "photo_consent": _l("I agree to appear in photos and video of the conference"),
    "do_not_publish": _l("Do not publish or photograph me"),
    "day_list": _l("Days you attend"),
    "category": _l("Category"),
    "status": _l("Status"),
    # An event.
    "series_id": _l("Series"),
    "languages": _l("Languages of the event"),
    "title": _l("Title in English"),
    "title_ko": _l("Title in Korean"),
    "title_ja": _l("Title in Japanese"),
    "slug": _l("Web address"),
    "start_date": _l("First day"),
    "end_date": _l("Last day"),
    "days": _l("Days"),
    "venue": _l("Venue in English"),
    "venue_ko": _l("Venue in Korean"),
    "venue_ja": _l("Venue in Japanese"),
    "city": _l("City in English"),
    "city_ko": _l("City in Korean"),
    "city_ja": _l("City in Japanese"),
    "timezone": _l("Time zone"),
    "description": _l("Description in English"),
    "description_ko": _l("Description in Korean"),
    "description_ja": _l("Description in Japanese"),
    "capacity": _l("Capacity (seats)"),
    "registration_opens_at": _l("Registration opens"),
    "registration_closes_at": _l("Registration closes"),
    "retention_days": _l("Keep personal data for (days after the event)"),
    "participant_list": _l("Participant list"),
    "participant_list_by_category": _l("Participants see only their own category"),
    "email_confirmation_minutes": _l("Ask people to confirm their email address within (minutes)"),
    "show_seat_counts": _l("Show the number of seats left and of people waiting"),
    "interpretation_pairs": _l("Interpretation offered"),
    "door_opens_at": _l("Door opens at"),
}
FILTER_LABELS: dict[str, Any] = {
    "status": _l("Status"),
    "category": _l("Category"),
    "country": _l("Country"),
    "q": _l("Search"),
    "search": _l("Search"),
    "day": _l("Day"),
    "checked_in": _l("Checked in"),
    "sort": _l("Sort"),
}


@dataclass(frozen=True)
class Detail:
    label: str
    value: str


@dataclass
class Line:
    """One sentence of the trail (or a group of page views, `count` > 1)."""

    at: datetime
    text: str
    details: list[Detail] = field(default_factory=list)
    count: int = 1
    entry: AuditEntry | None = None
    #: Who acted, by name.
    actor: str = ""
    #: What kind of actor that name is, or the address they acted as ("" when the name says it).
    actor_note: str = ""


@dataclass
class Names:
    """Names of the records a list of entries mentions, looked up once per kind."""

    staff: dict[int, str] = field(default_factory=dict)
    registrations: dict[int, str] = field(default_factory=dict)
    speakers: dict[int, str] = field(default_factory=dict)
    partnerships: dict[int, str] = field(default_factory=dict)
    partners: dict[int, str] = field(default_factory=dict)
    #: Team memberships by entry id: the member's name (the entry keeps their address).
    members: dict[int, str] = field(default_factory=dict)


def _ids(entries: Iterable[AuditEntry], object_type: str) -> set[int]:
    return {
        e.object_id for e in entries if e.object_type == object_type and e.object_id is not None
    }


def registration_label(registration: Registration) -> str:
    """The registration as named in a sentence, "Ada Lovelace (Journalist)"; an erased
    registration as such."""
    if registration.anonymized_at is not None:
        return _("an erased registration")
    return _("%(name)s (%(category)s)", name=registration.full_name,
             category=str(category_name(registration.category)))


def lookup_names(entries: Sequence[AuditEntry], *, real_speaker_names: bool) -> Names:
    """One query per kind of record the entries name (staff, registrations, speakers,
    partnerships, partners), whatever their number."""
    names = Names()
    staff_ids = {e.actor_id for e in entries if e.actor_id is not None} | _ids(
        entries, "staff_user"
    )
    if staff_ids:
        for user in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(staff_ids))):
            names.staff[user.id] = user.name.strip() or user.email
    member_entries = {
        e.id: str(e.detail["staff"])
        for e in entries
        if e.object_type == "team_member" and (e.detail or {}).get("staff")
    }
    if member_entries:
        by_email = {
            user.email: user.name.strip() or user.email
            for user in db.session.scalars(
                select(StaffUser).where(StaffUser.email.in_(set(member_entries.values())))
            )
        }
        names.members = {key: by_email.get(email, email) for key, email in member_entries.items()}
    registration_ids = _ids(entries, "registration")
    if registration_ids:
        for registration in db.session.scalars(
            select(Registration).where(Registration.id.in_(registration_ids))
        ):
            names.registrations[registration.id] = registration_label(registration)
    speaker_ids = _ids(entries, "speaker")
    if speaker_ids:
        for speaker in db.session.scalars(select(Speaker).where(Speaker.id.in_(speaker_ids))):
            names.speakers[speaker.id] = (
                speaker.full_name
                if real_speaker_names and speaker.anonymized_at is None
                else display.public_name(speaker)
            )
    partnership_ids = _ids(entries, "partnership")
    if partnership_ids:
        for ship_id, name in db.session.execute(
            select(Partnership.id, Partner.name)
            .join(Partner, Partner.id == Partnership.partner_id)
            .where(Partnership.id.in_(partnership_ids))
        ):
            names.partnerships[ship_id] = name
    partner_ids = _ids(entries, "partner")
    if partner_ids:
        for partner_id, name in db.session.execute(
            select(Partner.id, Partner.name).where(Partner.id.in_(partner_ids))
        ):
            names.partners[partner_id] = name
    return names


def actor_name(entry: AuditEntry, names: Names) -> str:
    """Who acted: a staff member's name, the attendee, a partner, the system, or the address
    typed into a sign-in form."""
    if entry.actor_id is not None and entry.actor_id in names.staff:
        return names.staff[entry.actor_id]
    if entry.actor == "attendee":
        if entry.object_type == "registration" and entry.object_id in names.registrations:
            return names.registrations[entry.object_id]
        return _("The attendee")
    if entry.actor == "partner":
        return _("A partner")
    if entry.actor == "system":
        return _("The system")
    if entry.actor == "verification page":
        return _("The verification page")
    return entry.actor


def actor_note(entry: AuditEntry, name: str) -> str:
    """What stands under the actor's name: the address a staff member acted as (or typed),
    "Attendee" under an attendee's own name; nothing where the name already says who it is
    ("The system", "A partner")."""
    if entry.actor == "attendee":
        return _("Attendee") if name != _("The attendee") else ""
    if entry.actor in {"partner", "system", "verification page"}:
        return ""
    return entry.actor if entry.actor != name else ""


def record_type(kind: str) -> str:
    """A kind of record in the reader's language: "staff_user" reads "Staff account"."""
    label = RECORD_TYPES.get(kind)
    return str(label) if label is not None else kind.replace("_", " ").capitalize()


def object_name(entry: AuditEntry, names: Names) -> str:
    """What the entry is about, by name where there is one."""
    kind, key = entry.object_type, entry.object_id
    if kind == "team_member" and entry.id in names.members:
        return names.members[entry.id]
    if key is None:
        return _("a record")
    found = {
        "registration": names.registrations,
        "staff_user": names.staff,
        "speaker": names.speakers,
        "partnership": names.partnerships,
        "partner": names.partners,
    }.get(kind or "")
    if found is not None:
        if key in found:
            return found[key]
        if kind == "registration":
            return _("an erased registration")
    if kind == "event":
        return _("the event")
    return _("a record (%(kind)s %(number)d)", kind=record_type(kind or ""), number=key)


def _labelled_value(key: str, value: Any) -> str:
    """A status, a category or another coded value said in words; anything else as
    `_value_text` says it."""
    if isinstance(value, str) and key in {"status", "from", "to"} and value in STATUS_LABELS:
        return str(STATUS_LABELS[value])
    if isinstance(value, str) and value in VALUE_LABELS.get(key, {}):
        return str(VALUE_LABELS[key][value])
    if isinstance(value, str) and key == "category" and value:
        return str(category_name(value))
    if key == "fields" and isinstance(value, list | tuple):
        return ", ".join(str(FIELD_LABELS.get(v, v)) for v in value) if value else _("none")
    return _value_text(value)


def _value_text(value: Any) -> str:
    if value is None or value == "":
        return _("none")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple | set):
        return ", ".join(_value_text(v) for v in value) if value else _("none")
    if isinstance(value, dict):
        return "; ".join(
            f"{FILTER_LABELS.get(k, str(k).replace('_', ' ').capitalize())} = "
            f"{_labelled_value(str(k), v)}"
            for k, v in value.items()
        ) or _("none")
    return str(value)


def details_of(detail: dict[str, Any] | None) -> list[Detail]:
    """The entry's detail as labelled fields: "Status: confirmed → rejected",
    "Filters: Status = confirmed"; never a dictionary or "None"."""
    detail = dict(detail or {})
    shown: list[Detail] = []
    if "from" in detail or "to" in detail:
        before, after = detail.pop("from", None), detail.pop("to", None)
        shown.append(Detail(str(_("Status")), "{} → {}".format(
            _labelled_value("from", before), _labelled_value("to", after))))
    for key, value in detail.items():
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if v not in (None, "", [], {})}
        label = DETAIL_LABELS.get(key, str(key).replace("_", " ").capitalize())
        shown.append(Detail(str(label), _labelled_value(str(key), value)))
    return shown


def sentence(entry: AuditEntry, names: Names) -> str:
    """The entry as a sentence in the reader's language; an action not named here still reads
    as one ("Min-ji Park: visa letter — approve")."""
    values = {"actor": actor_name(entry, names), "object": object_name(entry, names)}
    template = SENTENCES.get(entry.action)
    if entry.actor == "attendee" and entry.object_type == "registration":
        template = OWN_SENTENCES.get(entry.action, template)
    if template is not None:
        return str(template) % values
    area, _dot, verb = entry.action.partition(".")
    return _("%(actor)s did “%(what)s” on %(object)s",
             actor=values["actor"], what=f"{area.replace('_', ' ')}: {verb.replace('_', ' ')}",
             object=values["object"])


def _when(day: date, today: date, when_date: str) -> str:
    return _("today") if day == today else _("on %(date)s", date=when_date)


def lines(
    entries: Sequence[AuditEntry],
    *,
    zone: str,
    today: date,
    format_day: Any,
    real_speaker_names: bool,
    group_views: bool = True,
) -> list[Line]:
    """The entries (newest first) as lines; with `group_views`, the page views of one person,
    one kind and one record on one day (in `zone`) are one line with their count, placed
    where the latest of them was."""
    names = lookup_names(entries, real_speaker_names=real_speaker_names)
    tz = ZoneInfo(zone)
    result: list[Line] = []
    groups: dict[tuple[object, ...], tuple[Line, AuditEntry]] = {}
    for entry in entries:
        if group_views and is_page_view(entry.action):
            day = entry.at.astimezone(tz).date()
            key = (entry.actor_id, entry.actor, entry.action, entry.object_type,
                   entry.object_id, day)
            if key in groups:
                groups[key][0].count += 1
                continue
            name = actor_name(entry, names)
            line = Line(entry.at, "", [], 1, entry, name, actor_note(entry, name))
            groups[key] = (line, entry)
            result.append(line)
            continue
        name = actor_name(entry, names)
        result.append(Line(entry.at, sentence(entry, names), details_of(entry.detail), 1, entry,
                           name, actor_note(entry, name)))
    for line, entry in groups.values():
        day = entry.at.astimezone(tz).date()
        values = {
            "actor": actor_name(entry, names),
            "object": object_name(entry, names),
            "when": _when(day, today, str(format_day(day))),
        }
        line.text = _view_text(entry.action, line.count, values)
        line.details = details_of(entry.detail) if line.count == 1 else []
    return result
