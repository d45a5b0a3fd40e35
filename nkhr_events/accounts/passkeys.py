"""Passkeys (WebAuthn, through the py_webauthn library) as an alternative second factor.

A passkey stands beside the one-time codes, never in their place: only an account with codes
set up may add one, so the sign-in that works without JavaScript (a code, or a recovery code)
is always there. Adding one asks for a current code first, so that a borrowed signed-in
browser cannot add a key of its own. Only the credential's public key is kept.

The ceremony has two requests: the server makes options with a fresh challenge (kept, with a
deadline, in the signed session cookie of that browser and used once), the browser asks the
device, and the server verifies the answer against the challenge, this site's origin and the
stored public key. The relying party id is the host name the browser sees (or
NKHR_PASSKEY_RP_ID); passkeys therefore work on a real host name or "localhost", not on a bare
IP address, where the page says that codes are the way in.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request, session
from flask_babel import gettext as _
from sqlalchemy import select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from nkhr_events.accounts import twofactor
from nkhr_events.accounts.models import StaffPasskey, StaffUser
from nkhr_events.audit.services import Actor, record
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db

#: How many passkeys one account may hold.
MAX_PASSKEYS = 10
#: How long the device may take to answer (milliseconds, as WebAuthn counts).
TIMEOUT_MS = 120_000
#: Session keys of the challenge waiting for an answer.
_REGISTRATION_KEY = "_passkey_registration"
_AUTHENTICATION_KEY = "_passkey_authentication"
#: The largest answer accepted from a browser (a credential is a few kilobytes at most).
MAX_ANSWER_BYTES = 16 * 1024
#: How a second step made with a passkey is recorded (the sign-in's audit detail).
BY_PASSKEY = "passkey"


class PasskeyRefused(DomainError):
    """A passkey answer that does not verify, or a ceremony that ran out of time."""


@dataclass(frozen=True)
class Party:
    """Who the browser talks to: the relying party id and the origins answers may come from."""

    rp_id: str
    origins: list[str]


def party() -> Party:
    """This site as the current request's browser sees it (and as NKHR_BASE_URL names it, for
    a proxy that changes the Host header)."""
    origin = request.host_url.rstrip("/")
    public = urlsplit(str(current_app.config.get("NKHR_BASE_URL") or ""))
    origins = [origin]
    if public.scheme and public.netloc:
        origins.append(f"{public.scheme}://{public.netloc}")
    configured = str(current_app.config.get("NKHR_PASSKEY_RP_ID") or "").strip()
    return Party(rp_id=configured or (urlsplit(origin).hostname or ""), origins=origins)


def passkeys_of(user: StaffUser) -> list[StaffPasskey]:
    return list(db.session.scalars(
        select(StaffPasskey).where(StaffPasskey.user_id == user.id).order_by(StaffPasskey.id)
    ))


def has_passkeys(user: StaffUser) -> bool:
    return db.session.scalar(
        select(StaffPasskey.id).where(StaffPasskey.user_id == user.id).limit(1)
    ) is not None


def _descriptors(user: StaffUser) -> list[PublicKeyCredentialDescriptor]:
    descriptors = []
    for key in passkeys_of(user):
        transports = []
        for name in key.transports.split():
            try:
                transports.append(AuthenticatorTransport(name))
            except ValueError:
                continue
        descriptors.append(PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(key.credential_id), transports=transports or None))
    return descriptors


def _keep_challenge(key: str, user: StaffUser, challenge: bytes) -> None:
    session[key] = {"user": user.id, "challenge": bytes_to_base64url(challenge),
                    "until": int(time.time()) + TIMEOUT_MS // 1000 + 30}


def _take_challenge(key: str, user: StaffUser) -> bytes:
    """The challenge this browser was given for `user`, once; refuses one that ran out."""
    kept = session.pop(key, None)
    if (not isinstance(kept, dict) or kept.get("user") != user.id
            or int(kept.get("until", 0)) < time.time()):
        raise PasskeyRefused(_("The time for this step has run out. Try again."))
    return base64url_to_bytes(str(kept.get("challenge", "")))


def _answer(raw: Any) -> dict[str, Any]:
    """The credential a browser sent, as a dictionary; refuses anything else."""
    if isinstance(raw, str):
        if len(raw) > MAX_ANSWER_BYTES:
            raise PasskeyRefused(_("The passkey could not be checked. Try again."))
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, dict):
        raise PasskeyRefused(_("The passkey could not be checked. Try again."))
    return raw


# --- adding a passkey ---------------------------------------------------------------------------


def registration_options(user: StaffUser, code: str, *, actor: Actor) -> str:
    """The options for adding a passkey, as JSON for the browser, after a current one-time
    code. Raises CodeRefused for a wrong code, DomainError when no more may be added."""
    if not twofactor.enrolled(user):
        raise DomainError(_("Set up two-factor sign-in with codes first."))
    if len(passkeys_of(user)) >= MAX_PASSKEYS:
        raise DomainError(_("You have as many passkeys as an account may hold. Remove one "
                            "first."))
    if not twofactor.check_code(user, code):
        record("account.passkey_add_failed", object_type="staff_user", object_id=user.id,
               actor=actor, detail={"reason": "wrong_code"})
        raise twofactor.CodeRefused(
            _("The code is not correct. Type the current code from your app."), "code")
    site = party()
    options = generate_registration_options(
        rp_id=site.rp_id,
        rp_name=twofactor.ISSUER,
        user_name=user.email,
        user_id=f"nkhr-staff-{user.id}".encode(),
        user_display_name=user.name or user.email,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(user),
    )
    _keep_challenge(_REGISTRATION_KEY, user, options.challenge)
    return str(options_to_json(options))


def add_passkey(user: StaffUser, answer: Any, name: str, *, actor: Actor,
                now: datetime | None = None) -> StaffPasskey:
    """Verify the browser's answer to `registration_options` and keep the new passkey."""
    challenge = _take_challenge(_REGISTRATION_KEY, user)
    credential = _answer(answer)
    site = party()
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge,
            expected_rp_id=site.rp_id, expected_origin=site.origins,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as error:
        record("account.passkey_add_failed", object_type="staff_user", object_id=user.id,
               actor=actor, detail={"reason": "not_verified"})
        raise PasskeyRefused(_("The passkey could not be checked. Try again.")) from error
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.scalar(select(StaffPasskey.id).where(
            StaffPasskey.credential_id == credential_id)) is not None:
        raise PasskeyRefused(_("This passkey is already added."))
    transports = (credential.get("response") or {}).get("transports") or []
    label = " ".join((name or "").split())[:60] or _("Passkey")
    key = StaffPasskey(
        user_id=user.id, credential_id=credential_id,
        public_key=verified.credential_public_key, sign_count=verified.sign_count,
        name=label,
        transports=" ".join(str(t) for t in transports if isinstance(t, str))[:200],
        created_at=now or utcnow(),
    )
    db.session.add(key)
    db.session.flush()
    record("account.passkey_add", object_type="staff_user", object_id=user.id, actor=actor,
           detail={"passkey": key.id, "name": key.name})
    return key


def remove_passkey(user: StaffUser, passkey_id: int, *, actor: Actor) -> bool:
    """Remove one of the user's own passkeys. False if they have no such passkey."""
    key = db.session.get(StaffPasskey, passkey_id)
    if key is None or key.user_id != user.id:
        return False
    name = key.name
    db.session.delete(key)
    db.session.flush()
    record("account.passkey_remove", object_type="staff_user", object_id=user.id,
           actor=actor, detail={"passkey": passkey_id, "name": name})
    return True


# --- signing in with a passkey ------------------------------------------------------------------


def authentication_options(user: StaffUser) -> str:
    """The options for the second step with one of the user's passkeys, as JSON."""
    descriptors = _descriptors(user)
    if not descriptors:
        raise PasskeyRefused(_("This account has no passkey. Type a code instead."))
    options = generate_authentication_options(
        rp_id=party().rp_id, timeout=TIMEOUT_MS, allow_credentials=descriptors,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _keep_challenge(_AUTHENTICATION_KEY, user, options.challenge)
    return str(options_to_json(options))


def verify_passkey(user: StaffUser, answer: Any, now: datetime | None = None) -> bool:
    """Whether the browser's answer is a valid assertion of one of the user's passkeys for the
    challenge this browser was given. A signature counter that does not go up (a cloned key)
    fails. The passkey's counter and last use are updated."""
    try:
        challenge = _take_challenge(_AUTHENTICATION_KEY, user)
        credential = _answer(answer)
    except PasskeyRefused:
        return False
    credential_id = credential.get("rawId") or credential.get("id")
    if not isinstance(credential_id, str):
        return False
    key = db.session.scalar(select(StaffPasskey).where(
        StaffPasskey.user_id == user.id, StaffPasskey.credential_id == credential_id))
    if key is None:
        return False
    site = party()
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge,
            expected_rp_id=site.rp_id, expected_origin=site.origins,
            credential_public_key=key.public_key,
            credential_current_sign_count=key.sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        return False
    key.sign_count = verified.new_sign_count
    key.last_used_at = now or utcnow()
    return True
