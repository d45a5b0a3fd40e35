"""Issuing, verifying and revoking documents (visa letters and certificates alike).

A document has a public reference ("NKHR-2027-4F7K2Q": random, so one reference tells nothing
about another) and a secret code printed beside it. Whoever holds the paper holds both; the
verification page shows what the document states only to someone who gives both.

The code is never stored. It is an HMAC of the reference under the application's
SECRET_KEY, so the same code is printed on every download of the same document, and only its
SHA-256 is kept (`code_hash`): a copy of the database alone cannot produce a code, and a
lookup compares hashes in constant time. When SECRET_KEY is replaced, the old key goes to
SECRET_KEY_FALLBACKS: codes printed before still verify (their hash is stored), and a
re-download finds the key the code was made with among the fallbacks. A document whose key is
gone altogether cannot be printed again (`CodeUnavailable`); staff revoke it and issue anew.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from flask import current_app
from sqlalchemy import Select, func, select

from nkhr_events.audit.services import Actor, record
from nkhr_events.dbtypes import utcnow
from nkhr_events.documents.models import DocumentKind, IssuedDocument
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration

#: Letters and digits a reader cannot confuse (no 0/O, 1/I/L, U): Crockford's base 32.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PREFIX = "NKHR"
REFERENCE_RANDOM_CHARS = 6  # 32**6: about a billion references a year
CODE_CHARS = 12  # 60 bits, printed as three groups of four
REFERENCE_MAX = 32
CODE_MAX = 32
REVOKE_REASON_MAX = 500
LANGUAGES = ("en", "ko", "ja")
_CODE_CONTEXT = b"nkhr-document-code:"


class CodeUnavailable(DomainError):
    """The key the document's code was made with is gone: it cannot be printed again."""


class AlreadyRevoked(DomainError):
    """The document was revoked before."""


def _keys() -> list[bytes]:
    """SECRET_KEY, then each of SECRET_KEY_FALLBACKS (the keys it replaced)."""
    config = current_app.config
    keys = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
    return [key.encode("utf-8") if isinstance(key, str) else bytes(key) for key in keys]


def _derive(reference: str, key: bytes) -> str:
    digest = hmac.new(key, _CODE_CONTEXT + reference.encode("ascii"), hashlib.sha256).digest()
    number = int.from_bytes(digest[:8], "big")
    chars = []
    for _i in range(CODE_CHARS):
        chars.append(ALPHABET[number % 32])
        number //= 32
    return "".join(chars)


def format_code(code: str) -> str:
    """ "ABCD-EFGH-JKLM": the code as printed, in groups of four."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize(value: str) -> str:
    """What a person typed, as stored: upper case, without spaces and dashes, with the letters
    readers confuse read as the digits they look like (O as 0, I and L as 1)."""
    cleaned = "".join(ch for ch in value.upper() if ch.isalnum())
    return cleaned.translate(str.maketrans("OIL", "011"))


def canonical_reference(value: str) -> str:
    """A typed reference as printed ("nkhr 2027 4f7k2q" -> "NKHR-2027-4F7K2Q"); anything
    that is not shaped like a reference comes back normalised, and matches nothing."""
    plain = normalize(value)
    head, year, rest = plain[:4], plain[4:8], plain[8:]
    if head == REFERENCE_PREFIX and year.isdigit() and len(rest) == REFERENCE_RANDOM_CHARS:
        return f"{head}-{year}-{rest}"
    return plain[:REFERENCE_MAX]


def _code_hash(code: str) -> str:
    return hashlib.sha256(normalize(code).encode("ascii", "replace")).hexdigest()


def _new_reference(year: int) -> str:
    while True:
        random_part = "".join(secrets.choice(ALPHABET) for _i in range(REFERENCE_RANDOM_CHARS))
        reference = f"{REFERENCE_PREFIX}-{year}-{random_part}"
        taken = db.session.scalar(
            select(IssuedDocument.id).where(IssuedDocument.reference == reference)
        )
        if taken is None:
            return reference


def issue_document(
    registration: Registration,
    kind: str,
    language: str,
    statements: Iterable[tuple[str, str]],
    *,
    actor: Actor,
) -> tuple[IssuedDocument, str]:
    """A new document for `registration` stating `statements` (label/value pairs in
    `language`, exactly as the document and the verification page show them); returns it
    with its secret code, formatted to be printed. Audited; the audit entry holds the
    reference, never the statements."""
    if kind not in tuple(DocumentKind):
        raise ValueError(f"unknown document kind: {kind!r}")
    if language not in LANGUAGES:
        raise ValueError(f"unsupported document language: {language!r}")
    now = utcnow()
    reference = _new_reference(now.year)
    code = _derive(reference, _keys()[0])
    document = IssuedDocument(
        event_id=registration.event_id,
        registration_id=registration.id,
        kind=kind,
        reference=reference,
        code_hash=_code_hash(code),
        language=language,
        statements=[[str(label), str(value)] for label, value in statements],
        issued_at=now,
        issued_by_id=actor.staff_id,
    )
    db.session.add(document)
    db.session.flush()
    record(
        f"documents.issue_{kind}",
        actor=actor,
        object_type="issued_document",
        object_id=document.id,
        event_id=registration.event_id,
        detail={"reference": reference, "language": language},
    )
    return document, format_code(code)


def document_code(document: IssuedDocument) -> str:
    """The document's secret code, made again to print it on a re-download (formatted).
    Raises CodeUnavailable if no key at hand makes the code whose hash is stored."""
    for key in _keys():
        code = _derive(document.reference, key)
        if hmac.compare_digest(_code_hash(code), document.code_hash):
            return format_code(code)
    raise CodeUnavailable(
        "The key this document's code was made with is no longer configured; revoke the "
        "document and issue a new one."
    )


def verification_url(reference: str, code: str) -> str:
    """The address printed on the document and in its QR code."""
    base = str(current_app.config["NKHR_BASE_URL"]).rstrip("/")
    return f"{base}/verify/{reference}/{format_code(normalize(code))}"


def find_for_verification(reference: str, code: str) -> IssuedDocument | None:
    """The document with this reference and code, or None for any mismatch (unknown
    reference, wrong code, malformed input). A wrong reference costs the same as a wrong
    code: the code's hash is compared in constant time against a stored hash or, for an
    unknown reference, against a dummy, so neither answer nor timing tells which was wrong."""
    reference = canonical_reference(reference[: REFERENCE_MAX * 2])
    if len(code) > CODE_MAX * 2:
        return None
    document = db.session.scalar(
        select(IssuedDocument).where(IssuedDocument.reference == reference)
    )
    expected = document.code_hash if document is not None else "0" * 64
    matches = hmac.compare_digest(_code_hash(code), expected)
    if document is None or not matches:
        return None
    return document


def revoke(document: IssuedDocument, reason: str, *, actor: Actor) -> None:
    """Mark the document revoked (the verification page then says so, with the date; the
    reason stays with the staff). Audited."""
    if document.revoked_at is not None:
        raise AlreadyRevoked("This document was already revoked.")
    document.revoked_at = utcnow()
    document.revoked_reason = reason.strip()[:REVOKE_REASON_MAX]
    record(
        "documents.revoke",
        actor=actor,
        object_type="issued_document",
        object_id=document.id,
        event_id=document.event_id,
        detail={"reference": document.reference, "kind": document.kind},
    )
    db.session.flush()


def documents_of(registration_id: int, kind: str) -> list[IssuedDocument]:
    """A registration's documents of one kind, newest first."""
    return list(
        db.session.scalars(
            select(IssuedDocument)
            .where(IssuedDocument.registration_id == registration_id, IssuedDocument.kind == kind)
            .order_by(IssuedDocument.issued_at.desc(), IssuedDocument.id.desc())
        )
    )


def documents_query(event_id: int) -> Select[IssuedDocument]:
    """An event's documents, newest first (the staff list)."""
    return (
        select(IssuedDocument)
        .where(IssuedDocument.event_id == event_id)
        .order_by(IssuedDocument.issued_at.desc(), IssuedDocument.id.desc())
    )


def counts(event_id: int) -> dict[str, int]:
    """How many documents of each kind the event has issued, revoked ones included."""
    rows = db.session.execute(
        select(IssuedDocument.kind, func.count())
        .where(IssuedDocument.event_id == event_id)
        .group_by(IssuedDocument.kind)
    ).all()
    return {str(kind): int(number) for kind, number in rows}
