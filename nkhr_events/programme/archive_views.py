"""The public archive of an edition: its public programme, its outcome documents and the photos
whose people agreed to appear. Published and archived events only; drafts do not exist here."""

from __future__ import annotations

import io

from flask import Blueprint, abort, make_response, render_template, send_file
from werkzeug.wrappers import Response

from nkhr_events.events import services as event_services
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.programme import archive, display
from nkhr_events.programme.models import ArchiveDocument, ArchivePhoto, ProgrammeSession

bp = Blueprint("archive", __name__)


def _public_event(slug: str) -> Event:
    found = event_services.public_event(slug)
    if found is None:
        abort(404)
    return found


@bp.get("/events/<slug>/archive")
def archive_page(slug: str) -> str:
    """The edition's programme, documents and published photos, or a plain "nothing yet"."""
    event = _public_event(slug)
    sessions = archive.public_sessions(event.id)
    return render_template(
        "programme/archive.html",
        event=event,
        sessions=sessions,
        documents=archive.documents(event.id),
        photos=archive.photos(event.id, published_only=True),
        kind_labels=archive.KIND_LABELS,
    )


@bp.get("/events/<slug>/archive/documents/<int:archive_document_id>/<filename>")
def document(slug: str, archive_document_id: int, filename: str) -> Response:
    """The document as it was uploaded (byte for byte), as a download."""
    event = _public_event(slug)
    found = db.session.get(ArchiveDocument, archive_document_id)
    if found is None or found.event_id != event.id or found.filename != filename:
        abort(404)
    response = send_file(io.BytesIO(found.data), mimetype="application/pdf",
                         as_attachment=True, download_name=found.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/events/<slug>/archive/photos/<int:archive_photo_id>.jpg")
def photo(slug: str, archive_photo_id: int) -> Response:
    """A published photo (our own re-encoding); 404 for one whose consent is not confirmed."""
    event = _public_event(slug)
    found = db.session.get(ArchivePhoto, archive_photo_id)
    if found is None or found.event_id != event.id or not archive.is_published(found):
        abort(404)
    response = make_response(found.data)
    response.headers["Content-Type"] = found.content_type
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    # Not cached by shared caches: a photo taken down must stop being served at once.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.app_template_global()
def archive_has_content(event: Event) -> bool:
    """Whether the event's public page links to its archive."""
    return archive.has_content(event.id)


@bp.app_template_global()
def archive_speaker_names(session: ProgrammeSession) -> list[str]:
    """The names others see of a session's announced speakers, in printed order."""
    return [display.public_name(link.speaker) for link in session.speakers
            if display.is_announced(link.speaker)]
