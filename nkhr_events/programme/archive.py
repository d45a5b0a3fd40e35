"""The archive of an edition: its outcome documents (checked PDF uploads) and its photos
(re-encoded, published only once staff state that everyone recognisable agreed to appear).

Nothing uploaded is trusted: a document is kept only if it is a real PDF that pypdf parses,
is not encrypted and carries no JavaScript, launch action or embedded file; a photo is decoded
and re-encoded as a fresh JPEG, so no EXIF (GPS position, camera, time) survives. Every change
is audited; services add and flush, the caller commits.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject
from sqlalchemy import func, select

from nkhr_events.audit.services import Actor, record
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.partners.logos import (
    MAX_PIXELS,
    ImageTooLarge,
    ImageUnreadable,
    decode_rgba,
    fresh_png,
)
from nkhr_events.programme.models import (
    ArchiveDocument,
    ArchiveDocumentKind,
    ArchivePhoto,
    ProgrammeSession,
)

#: The largest document accepted. The upload page's request may be this much larger (the
#: other fields); the app's MAX_CONTENT_LENGTH holds everywhere else.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_PHOTO_BYTES = 15 * 1024 * 1024
#: What an upload request of the archive page may carry in all (file and fields).
MAX_REQUEST_BYTES = MAX_DOCUMENT_BYTES + 256 * 1024
#: Stored photos fit in this box (aspect ratio kept).
PHOTO_MAX_SIDE = 1600
PHOTO_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
#: The end-of-file marker must be in the last this many bytes (trailing garbage is common).
EOF_WINDOW = 2048
#: Objects walked looking for active content; a document with more is refused, not half-read.
MAX_OBJECTS = 200_000
FILENAME_MAX = 120

KIND_LABELS = {
    ArchiveDocumentKind.DECLARATION: _l("Declaration"),
    ArchiveDocumentKind.REPORT: _l("Report"),
    ArchiveDocumentKind.PROGRAMME: _l("Programme"),
    ArchiveDocumentKind.OTHER: _l("Other document"),
}

#: Keys and action types that make a PDF do something when it is opened or clicked.
_ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/EmbeddedFiles", "/EmbeddedFile", "/RichMedia"})
_ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/ImportData", "/RichMediaExecute"})


class ArchiveRefused(DomainError):
    """The upload is not one the archive keeps; the message says why, beside the field."""


@dataclass(frozen=True)
class DocumentInput:
    kind: str
    language: str
    title: str
    title_ko: str
    title_ja: str
    filename: str
    data: bytes


@dataclass(frozen=True)
class PhotoInput:
    caption: str
    caption_ko: str
    caption_ja: str
    data: bytes
    consent: bool


# --- documents ----------------------------------------------------------------------------------


def _has_active_content(reader: PdfReader) -> bool:
    """Whether any object reachable from the trailer names JavaScript, a launch action or an
    embedded file. Object streams are read through pypdf, so compressed objects count too."""
    seen: set[tuple[int, int]] = set()
    pending: list[PdfObject] = [reader.trailer]
    walked = 0
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            resolved = item.get_object()
            if resolved is None:
                continue
            item = resolved
        walked += 1
        if walked > MAX_OBJECTS:
            raise ArchiveRefused(_("This PDF is too complex to check."), "file")
        if isinstance(item, DictionaryObject):
            if _ACTIVE_KEYS & set(item.keys()) or item.get("/S") in _ACTIVE_ACTIONS:
                return True
            if item.get("/Type") in ("/EmbeddedFile", "/Filespec") and "/EF" in item:
                return True
            pending.extend(item.values())
        elif isinstance(item, ArrayObject):
            pending.extend(item)
    return False


def check_pdf(data: bytes) -> int:
    """The page count of the PDF in `data`, or ArchiveRefused (field "file") when it is empty,
    too large, not a PDF, unreadable, encrypted or active (JavaScript, launch actions, embedded
    files)."""
    if not data:
        raise ArchiveRefused(_("The file is empty."), "file")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ArchiveRefused(
            _("The file is larger than %(size)s MB. Please send a smaller PDF.",
              size=MAX_DOCUMENT_BYTES // (1024 * 1024)),
            "file",
        )
    not_pdf = ArchiveRefused(_("This file is not a PDF document we can read."), "file")
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-EOF_WINDOW:]:
        raise not_pdf
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ArchiveRefused(
                _("This PDF is encrypted or password-protected. Please send it unprotected."),
                "file",
            )
        pages = len(reader.pages)
        active = _has_active_content(reader)
    except ArchiveRefused:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError, OSError, AssertionError) as error:
        raise not_pdf from error
    if pages < 1:
        raise not_pdf
    if active:
        raise ArchiveRefused(
            _("This PDF contains scripts, launch actions or embedded files, which the archive "
              "does not publish. Please send a plain PDF (for example, printed to PDF again)."),
            "file",
        )
    return pages


def safe_filename(name: str, fallback: str) -> str:
    """The name a document is served under: the uploaded name's last part, letters and digits
    of any script with "-", "_" and ".", ending in ".pdf"; `fallback` when nothing is left."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    stem = re.sub(r"(?i)\.pdf$", "", base)
    stem = re.sub(r"[^\w.-]+", "-", stem, flags=re.UNICODE).strip(".-_")[: FILENAME_MAX - 4]
    return f"{stem or fallback}.pdf"


def _next_position(model: type[ArchiveDocument] | type[ArchivePhoto], event_id: int) -> int:
    last = db.session.scalar(select(func.max(model.position)).where(model.event_id == event_id))
    return (last or 0) + 1


def add_document(event: Event, given: DocumentInput, *, actor: Actor) -> ArchiveDocument:
    """Check the PDF and keep it, with its SHA-256, at the end of the event's documents."""
    if given.kind not in KIND_LABELS:
        raise ArchiveRefused(_("Choose what kind of document this is."), "kind")
    if not (given.title.strip() or given.title_ko.strip() or given.title_ja.strip()):
        raise ArchiveRefused(_("Enter the title in at least one language."), "title")
    pages = check_pdf(given.data)
    document = ArchiveDocument(
        event_id=event.id,
        kind=given.kind,
        language=given.language,
        title=given.title.strip(),
        title_ko=given.title_ko.strip() or None,
        title_ja=given.title_ja.strip() or None,
        filename=safe_filename(given.filename, f"{given.kind}-{event.start_date.year}"),
        data=given.data,
        size=len(given.data),
        sha256=hashlib.sha256(given.data).hexdigest(),
        position=_next_position(ArchiveDocument, event.id),
    )
    db.session.add(document)
    db.session.flush()
    record("archive.document_add", actor=actor, object_type="archive_document",
           object_id=document.id, event_id=event.id,
           detail={"kind": document.kind, "size": document.size, "pages": pages,
                   "sha256": document.sha256})
    return document


def delete_document(document: ArchiveDocument, *, actor: Actor) -> None:
    record("archive.document_delete", actor=actor, object_type="archive_document",
           object_id=document.id, event_id=document.event_id,
           detail={"sha256": document.sha256})
    db.session.delete(document)
    db.session.flush()


# --- photos -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    width: int
    height: int


def clean_photo(data: bytes) -> CleanPhoto:
    """The photo in `data` decoded, turned upright (its EXIF orientation), scaled to fit
    PHOTO_MAX_SIDE and re-encoded as a new JPEG: no EXIF, GPS, ICC or comment survives."""
    if not data:
        raise ArchiveRefused(_("The file is empty."), "photo")
    if len(data) > MAX_PHOTO_BYTES:
        raise ArchiveRefused(
            _("The photo is larger than %(size)s MB. Please send a smaller file.",
              size=MAX_PHOTO_BYTES // (1024 * 1024)),
            "photo",
        )
    try:
        rgba = decode_rgba(data, PHOTO_FORMATS)
    except ImageTooLarge as error:
        raise ArchiveRefused(
            _("The photo is too large: at most %(pixels)s megapixels (for example 2400 × 1600 "
              "pixels). Please resize it and send it again.", pixels=MAX_PIXELS // 1_000_000),
            "photo",
        ) from error
    except ImageUnreadable as error:
        raise ArchiveRefused(
            _("This file is not a JPEG, PNG or WebP image we can read."), "photo"
        ) from error
    upright = ImageOps.exif_transpose(rgba)
    upright.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    pixels = fresh_png(upright)
    flat = Image.new("RGB", pixels.size, (255, 255, 255))
    flat.paste(pixels, mask=pixels.getchannel("A"))
    out = io.BytesIO()
    flat.save(out, format="JPEG", quality=85, optimize=True)
    return CleanPhoto(out.getvalue(), flat.width, flat.height)


def add_photo(event: Event, given: PhotoInput, *, actor: Actor) -> ArchivePhoto:
    """Keep the re-encoded photo at the end of the event's photos; published at once only if
    `given.consent` (the staff member states that everyone recognisable agreed)."""
    if not (given.caption.strip() or given.caption_ko.strip() or given.caption_ja.strip()):
        raise ArchiveRefused(_("Describe the photo in at least one language."), "caption")
    clean = clean_photo(given.data)
    now = utcnow()
    photo = ArchivePhoto(
        event_id=event.id,
        caption=given.caption.strip(),
        caption_ko=given.caption_ko.strip() or None,
        caption_ja=given.caption_ja.strip() or None,
        content_type="image/jpeg",
        data=clean.data,
        width=clean.width,
        height=clean.height,
        consent_confirmed_by=actor.staff_id if given.consent else None,
        consent_confirmed_at=now if given.consent else None,
        position=_next_position(ArchivePhoto, event.id),
    )
    db.session.add(photo)
    db.session.flush()
    record("archive.photo_add", actor=actor, object_type="archive_photo", object_id=photo.id,
           event_id=event.id, detail={"published": given.consent,
                                      "width": clean.width, "height": clean.height})
    return photo


def is_published(photo: ArchivePhoto) -> bool:
    return photo.consent_confirmed_at is not None


def confirm_consent(photo: ArchivePhoto, *, actor: Actor) -> bool:
    """Publish the photo on the actor's statement that everyone recognisable agreed; False
    (nothing recorded) when it already is."""
    if is_published(photo):
        return False
    photo.consent_confirmed_by = actor.staff_id
    photo.consent_confirmed_at = utcnow()
    db.session.flush()
    record("archive.photo_consent", actor=actor, object_type="archive_photo",
           object_id=photo.id, event_id=photo.event_id)
    return True


def withdraw_photo(photo: ArchivePhoto, *, actor: Actor) -> bool:
    """Take the photo off the public page (someone withdrew their agreement); False when it
    was not published."""
    if not is_published(photo):
        return False
    photo.consent_confirmed_by = None
    photo.consent_confirmed_at = None
    db.session.flush()
    record("archive.photo_withdraw", actor=actor, object_type="archive_photo",
           object_id=photo.id, event_id=photo.event_id)
    return True


def delete_photo(photo: ArchivePhoto, *, actor: Actor) -> None:
    record("archive.photo_delete", actor=actor, object_type="archive_photo",
           object_id=photo.id, event_id=photo.event_id)
    db.session.delete(photo)
    db.session.flush()


# --- order and reading --------------------------------------------------------------------------


def move(
    items: list[ArchiveDocument] | list[ArchivePhoto],
    item_id: int,
    earlier: bool,
    *,
    actor: Actor,
) -> bool:
    """Swap the item with its neighbour in `items` (the event's list in its order); False
    when it is already first (or last) or not in the list."""
    ids = [item.id for item in items]
    if item_id not in ids:
        return False
    index = ids.index(item_id)
    other = index - 1 if earlier else index + 1
    if not 0 <= other < len(items):
        return False
    ordered: list[ArchiveDocument | ArchivePhoto] = list(items)
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, item in enumerate(ordered, start=1):
        item.position = position
    db.session.flush()
    moved = ordered[other]
    record("archive.move", actor=actor, object_type=moved.__tablename__, object_id=moved.id,
           event_id=moved.event_id, detail={"position": other + 1})
    return True


def documents(event_id: int) -> list[ArchiveDocument]:
    return list(db.session.scalars(
        select(ArchiveDocument).where(ArchiveDocument.event_id == event_id)
        .order_by(ArchiveDocument.position, ArchiveDocument.id)
    ))


def photos(event_id: int, published_only: bool = False) -> list[ArchivePhoto]:
    query = select(ArchivePhoto).where(ArchivePhoto.event_id == event_id)
    if published_only:
        query = query.where(ArchivePhoto.consent_confirmed_at.is_not(None))
    return list(db.session.scalars(query.order_by(ArchivePhoto.position, ArchivePhoto.id)))


def public_sessions(event_id: int) -> list[ProgrammeSession]:
    """The event's public sessions in programme order (day, start)."""
    return list(db.session.scalars(
        select(ProgrammeSession)
        .where(ProgrammeSession.event_id == event_id, ProgrammeSession.public.is_(True))
        .order_by(ProgrammeSession.day, ProgrammeSession.starts_at, ProgrammeSession.id)
    ))


def has_content(event_id: int) -> bool:
    """Whether the public archive page shows anything: a public session, a document or a
    published photo."""
    checks = (
        select(ArchiveDocument.id).where(ArchiveDocument.event_id == event_id),
        select(ArchivePhoto.id).where(ArchivePhoto.event_id == event_id,
                                      ArchivePhoto.consent_confirmed_at.is_not(None)),
        select(ProgrammeSession.id).where(ProgrammeSession.event_id == event_id,
                                          ProgrammeSession.public.is_(True)),
    )
    return any(db.session.scalar(check.limit(1)) is not None for check in checks)
