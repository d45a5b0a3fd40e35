"""The document settings: letterhead, signatory, signature image and visa-letter purge period.

One row (id 1), stored when an admin first saves them (until then the defaults hold), changed
only by an admin through `update_settings` (audited). Every document renders with the settings
in force when it is rendered: a document is made from its stored statements and these settings
each time it is downloaded, so a corrected address shows on the next download.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from nkhr_events.audit.services import Actor, record
from nkhr_events.documents.models import DEFAULT_PURGE_DAYS, SETTINGS_ID, DocumentSettings
from nkhr_events.extensions import db


def current_settings() -> DocumentSettings:
    """The settings row; until an admin first saves, the defaults (not stored: reading the
    settings never writes)."""
    settings = db.session.get(DocumentSettings, SETTINGS_ID)
    if settings is None:
        settings = DocumentSettings(
            id=SETTINGS_ID,
            organisation_name="",
            organisation_address="",
            signatory_name="",
            signatory_title="",
            signature_png=None,
            visa_purge_days=DEFAULT_PURGE_DAYS,
        )
    return settings


def organisation_name(settings: DocumentSettings) -> str:
    """The letterhead's name: the admin's setting, else the configured NKHR_ORG_NAME."""
    return settings.organisation_name or str(current_app.config.get("NKHR_ORG_NAME", ""))


def visa_purge_days() -> int:
    """How many days after an event's last day its visa-letter passport data is purged."""
    return current_settings().visa_purge_days


@dataclass(frozen=True)
class SettingsChange:
    organisation_name: str
    organisation_address: str
    signatory_name: str
    signatory_title: str
    visa_purge_days: int
    #: Our re-encoded PNG of a new signature image (documents/signature.py), or None to keep
    #: the one in place.
    signature_png: bytes | None = None
    remove_signature: bool = False


def update_settings(change: SettingsChange, *, actor: Actor) -> bool:
    """Apply an admin's change; False (and nothing written, nothing audited) if it changes
    nothing. The audit entry names the fields changed, not their values."""
    settings = current_settings()
    changed: list[str] = []
    for field in (
        "organisation_name",
        "organisation_address",
        "signatory_name",
        "signatory_title",
        "visa_purge_days",
    ):
        value = getattr(change, field)
        if getattr(settings, field) != value:
            setattr(settings, field, value)
            changed.append(field)
    if change.signature_png is not None and change.signature_png != settings.signature_png:
        settings.signature_png = change.signature_png
        changed.append("signature")
    elif change.remove_signature and settings.signature_png is not None:
        settings.signature_png = None
        changed.append("signature_removed")
    if not changed:
        return False
    settings.updated_by_id = actor.staff_id
    if settings not in db.session:
        db.session.add(settings)
        db.session.flush()
    record(
        "documents.settings_update",
        actor=actor,
        object_type="document_settings",
        object_id=settings.id,
        detail={"fields": changed},
    )
    db.session.flush()
    return True
