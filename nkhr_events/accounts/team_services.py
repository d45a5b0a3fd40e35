"""Event teams: inviting people to an event's team with a role, changing it, removing them.

Admins and the event's organizers do this (Permission.MANAGE_TEAM). Someone who has no staff
account yet gets one with a random password nobody knows and an emailed single-use link to
choose their own (accounts/services.py): nobody types a password for someone else. Every
addition, change and removal is on the audit trail under the event. Access is read from the
memberships on every request (accounts/access.py), so a removal takes effect on the person's
next request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import false, select

from nkhr_events.accounts import services, twofactor
from nkhr_events.accounts.models import StaffRole, StaffUser, TeamMember, TeamRole
from nkhr_events.audit.services import Actor, record
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.outbox.services import enqueue_email
from nkhr_events.registrations.categories import CATEGORY_LABELS, Category
from nkhr_events.validators import LANGUAGES

#: The email template of invitations and role changes (templates/email/team_invitation.*).
INVITATION_TEMPLATE = "team_invitation"


@dataclass(frozen=True)
class Invitation:
    """Who is invited, with which role; the categories and grants count for reviewers only.
    `language` is the email's for someone new (someone known gets theirs, where known)."""

    email: str
    role: TeamRole
    name: str = ""
    categories: tuple[str, ...] = field(default_factory=tuple)
    sees_needs: bool = False
    can_export: bool = False
    language: str = "en"


class Outcome(StrEnum):
    """What an invitation did."""

    CREATED = "created"  # a new account, with a link to choose a password
    ADDED = "added"  # an existing account joined the team
    CHANGED = "changed"  # a member got another role, categories or grants
    UNCHANGED = "unchanged"  # a member already had exactly this


@dataclass(frozen=True)
class Invited:
    user: StaffUser
    member: TeamMember
    outcome: Outcome


# --- reading ------------------------------------------------------------------------------------


def event_members(event: Event) -> list[TeamMember]:
    """The members of this event's own team, by address."""
    return list(db.session.scalars(
        select(TeamMember).join(TeamMember.user)
        .where(TeamMember.event_id == event.id).order_by(StaffUser.email)
    ))


def every_event_members() -> list[TeamMember]:
    """The people who hold a role on every event (new ones included), by address."""
    return list(db.session.scalars(
        select(TeamMember).join(TeamMember.user)
        .where(TeamMember.event_id.is_(None)).order_by(StaffUser.email)
    ))


def admins() -> list[StaffUser]:
    """Active admins: they reach every event without a team."""
    return list(db.session.scalars(
        select(StaffUser)
        .where(StaffUser.role == StaffRole.ADMIN, StaffUser.active.is_(True))
        .order_by(StaffUser.email)
    ))


def memberships_of(user: StaffUser) -> list[tuple[TeamMember, Event | None]]:
    """A person's memberships with their events (None: every event), every-event one first."""
    rows = db.session.execute(
        select(TeamMember, Event).outerjoin(Event, TeamMember.event_id == Event.id)
        .where(TeamMember.user_id == user.id)
        .order_by(TeamMember.event_id.is_not(None), Event.start_date.desc(), TeamMember.id)
    ).all()
    return [(member, event) for member, event in rows]


def memberships_by_user() -> dict[int, list[tuple[TeamMember, Event | None]]]:
    """Every membership with its event (None: every event), by person, in one query: for the
    list of staff accounts. Each person's every-event role first, then by event, newest
    first."""
    rows = db.session.execute(
        select(TeamMember, Event).outerjoin(Event, TeamMember.event_id == Event.id)
        .order_by(TeamMember.event_id.is_not(None), Event.start_date.desc(), TeamMember.id)
    ).all()
    found: dict[int, list[tuple[TeamMember, Event | None]]] = {}
    for member, event in rows:
        found.setdefault(member.user_id, []).append((member, event))
    return found


def member_of(event: Event, member_id: int) -> TeamMember | None:
    """A membership of this event's own team (None for another event's or every event's)."""
    member = db.session.get(TeamMember, member_id)
    return member if member is not None and member.event_id == event.id else None


# --- inviting -----------------------------------------------------------------------------------


def _clean(invitation: Invitation) -> tuple[str, bool, bool]:
    """The categories and grants as stored: a reviewer's, checked; nothing for other roles."""
    if invitation.role != TeamRole.REVIEWER:
        return "", False, False
    known = {category.value for category in Category}
    unknown = [c for c in invitation.categories if c not in known]
    if unknown:
        raise DomainError(_("Choose categories from the list."), "categories")
    ordered = [c.value for c in Category if c.value in invitation.categories]
    return " ".join(ordered), invitation.sees_needs, invitation.can_export


def _member_detail(user: StaffUser, member: TeamMember) -> dict[str, object]:
    """What the trail keeps of a membership: whose it is and what it gives, nothing else."""
    detail: dict[str, object] = {"staff": user.email, "role": member.role}
    if member.role == TeamRole.REVIEWER:
        detail.update(categories=member.categories or "all", sees_needs=member.sees_needs,
                      can_export=member.can_export)
    return detail


def _refuse_last_organizer_leaving(
    event: Event, user_id: int, actor: Actor, removing: bool = False
) -> None:
    """Nobody but an admin takes their own organizer role away from an event nobody else
    organizes: they could not give it back. (Someone who is not an admin manages this team
    only as one of its organizers.) A removal leaves the person's every-event role, if any;
    a narrower role on the event overrides it."""
    if user_id != actor.staff_id:
        return
    acting = db.session.get(StaffUser, user_id)
    if acting is None or acting.is_admin:
        return
    still = (TeamMember.event_id == event.id) | TeamMember.event_id.is_(None)
    others = db.session.scalar(
        select(TeamMember.id).where(
            TeamMember.role == TeamRole.ORGANIZER,
            still,
            (TeamMember.user_id != user_id) | (TeamMember.event_id.is_(None) if removing
                                               else false()),
        ).limit(1)
    )
    if others is None:
        raise DomainError(_("You are the last organizer of this event: invite another "
                            "organizer before you leave the role."))


def invite(event: Event, invitation: Invitation, *, actor: Actor) -> Invited:
    """Give the person at `invitation.email` the role on this event's team, making their
    account if they have none, and email them. Raises DomainError for a bad address, an
    admin (who has every right already), a deactivated account or a refused change."""
    categories, sees_needs, can_export = _clean(invitation)
    user = services.staff_by_email(invitation.email)
    if user is not None and user.is_admin:
        raise DomainError(_("This person is an admin and has every right on every event "
                            "already."), "email")
    if user is not None and not user.active:
        raise DomainError(_("This account is deactivated; an admin can reactivate it."),
                          "email")
    created = user is None
    if user is None:
        user = _new_account(invitation, event, actor)
    member = db.session.scalar(
        select(TeamMember).where(TeamMember.user_id == user.id, TeamMember.event_id == event.id)
    )
    wanted = (str(invitation.role), categories, sees_needs, can_export)
    if member is not None:
        if (member.role, member.categories, member.sees_needs, member.can_export) == wanted:
            return Invited(user, member, Outcome.UNCHANGED)
        if invitation.role != TeamRole.ORGANIZER:
            _refuse_last_organizer_leaving(event, user.id, actor)
        before = _member_detail(user, member)
        member.role, member.categories, member.sees_needs, member.can_export = wanted
        db.session.flush()
        record("team_member.change", actor=actor, object_type="team_member",
               object_id=member.id, event_id=event.id,
               detail={**_member_detail(user, member), "before": before})
        outcome = Outcome.CHANGED
    else:
        if invitation.role != TeamRole.ORGANIZER:
            _refuse_last_organizer_leaving(event, user.id, actor)
        member = TeamMember(user_id=user.id, event_id=event.id, role=str(invitation.role),
                            categories=categories, sees_needs=sees_needs, can_export=can_export)
        db.session.add(member)
        db.session.flush()
        record("team_member.add", actor=actor, object_type="team_member", object_id=member.id,
               event_id=event.id, detail=_member_detail(user, member))
        outcome = Outcome.CREATED if created else Outcome.ADDED
    _email(user, member, event, outcome, invitation.language, actor)
    return Invited(user, member, outcome)


def _new_account(invitation: Invitation, event: Event, actor: Actor) -> StaffUser:
    """A staff account with no rights but its teams and a random password nobody knows."""
    user = services.create_staff(invitation.email, invitation.name,
                                 secrets.token_urlsafe(32), StaffRole.STAFF)
    record("account.create", actor=actor, object_type="staff_user", object_id=user.id,
           event_id=event.id,
           detail={"email": user.email, "role": str(StaffRole.STAFF), "invited": True})
    return user


def _language_of(user: StaffUser, chosen: str) -> str:
    """The language of the last email about their account the person got (staff accounts keep
    no language of their own), else `chosen`."""
    last = db.session.scalar(
        select(OutboxMessage.language)
        .where(OutboxMessage.recipient == user.email, OutboxMessage.admin_only.is_(True))
        .order_by(OutboxMessage.id.desc()).limit(1)
    )
    language = last or chosen
    return language if language in LANGUAGES else "en"


def _email(user: StaffUser, member: TeamMember, event: Event, outcome: Outcome,
           language: str, actor: Actor) -> None:
    """Tell the person which event and role; someone new also gets the link to choose a
    password (single use, hashed, expiring)."""
    inviter = db.session.get(StaffUser, actor.staff_id) if actor.staff_id else None
    context = {
        "event": event,
        "role": member.role,
        "categories": member.category_list,
        "category_labels": CATEGORY_LABELS,
        "sees_needs": member.sees_needs,
        "can_export": member.can_export,
        "inviter": inviter.name if inviter is not None else "",
        "changed": outcome == Outcome.CHANGED,
        # The role needs a second factor the person has not set up: an authenticator app.
        "two_factor": twofactor.required(user) and not twofactor.enrolled(user),
    }
    if outcome == Outcome.CREATED:
        services.send_invitation_link(user, _language_of(user, language),
                                      template=INVITATION_TEMPLATE, context=context)
        return
    base_url = current_app.config["NKHR_BASE_URL"].rstrip("/")
    enqueue_email(
        to=user.email, template=INVITATION_TEMPLATE, language=_language_of(user, language),
        context={**context, "name": user.name, "link": f"{base_url}/sign-in",
                 "invitation": False},
        admin_only=True,
    )


# --- removing -----------------------------------------------------------------------------------


def remove(event: Event, member: TeamMember, *, actor: Actor) -> None:
    """Take the person off this event's team; their next request no longer reaches it.
    Raises DomainError when the last organizer would remove themself."""
    if member.event_id != event.id:
        raise ValueError("the membership is not on this event's own team")
    _refuse_last_organizer_leaving(event, member.user_id, actor, removing=True)
    user = db.session.get_one(StaffUser, member.user_id)
    detail = _member_detail(user, member)
    member_id = member.id
    db.session.delete(member)
    db.session.flush()
    record("team_member.remove", actor=actor, object_type="team_member", object_id=member_id,
           event_id=event.id, detail=detail)
