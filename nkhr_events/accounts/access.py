"""Who may do what on the staff side: admins everything; everyone else what the event's team
gives them.

Each staff member holds one role on the team of an event, or on the team of every event
(`TeamMember.event_id` NULL, new events included); a role on one event takes precedence over
the every-event one. The role names a set of permissions; a reviewer's is narrowed to chosen
categories and may be widened by two grants (needs and notes; exports).

Views ask for an event or a registration *with a permission*: `event_for`, `registration_for`.
Anything the signed-in person may not reach answers 404, exactly as an id that does not exist,
so that nobody can probe for other events' records.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask import abort, g
from flask_login import current_user
from sqlalchemy import select

from nkhr_events.accounts.models import StaffUser, TeamMember, TeamRole
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration


class Permission(StrEnum):
    EDIT_EVENT = "edit_event"  # the event form, its status, category settings
    VIEW_ROSTER = "view_roster"  # dashboard, roster, a person's page
    DECIDE = "decide"  # approve, reject, waitlist (one or many)
    EDIT_REGISTRATION = "edit_registration"  # change a person's details
    READ_NEEDS = "read_needs"  # accessibility and dietary needs, internal notes
    EXPORT = "export"  # exports, badges, sign-in sheets, a person's data file
    MESSAGE = "message"  # messages to a group, cancelling a flood
    CHECK_IN = "check_in"  # the door and check-in pages
    PARTNERS = "partners"  # partner applications, decisions, recognition, sponsor tiers
    MANAGE_TEAM = "manage_team"  # invite and remove the event's team members
    OUTBOX = "outbox"  # the emails sent about the event's registrations
    PROTECTED = "protected"  # protected guests: register, real names, handout, export tick
    VISA = "visa"  # visa letter requests: passport data, decisions, the export tick
    DOCUMENTS = "documents"  # issued documents: list, revoke, certificates, email them all


#: What each role may, before a reviewer's grants.
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    TeamRole.ORGANIZER: frozenset(Permission),
    TeamRole.REVIEWER: frozenset({Permission.VIEW_ROSTER, Permission.DECIDE}),
    TeamRole.DOOR: frozenset({Permission.CHECK_IN}),
    TeamRole.LIAISON: frozenset({Permission.PARTNERS}),
}
#: What makes a role sensitive enough to need a second factor at sign-in.
SENSITIVE = frozenset({Permission.READ_NEEDS, Permission.EXPORT, Permission.VISA})


@dataclass(frozen=True)
class Grant:
    """What one person may do at one event: a role, its permissions, and the categories it
    reaches (None: every category)."""

    role: str
    permissions: frozenset[Permission]
    categories: frozenset[str] | None = None

    def allows(self, permission: Permission) -> bool:
        return permission in self.permissions

    def reaches(self, category: str) -> bool:
        return self.categories is None or category in self.categories


ADMIN_GRANT = Grant("admin", frozenset(Permission))


def member_grant(member: TeamMember) -> Grant:
    """The grant a team membership gives."""
    permissions = set(ROLE_PERMISSIONS.get(member.role, frozenset()))
    categories: frozenset[str] | None = None
    if member.role == TeamRole.REVIEWER:
        if member.sees_needs:
            permissions.add(Permission.READ_NEEDS)
        if member.can_export:
            permissions.add(Permission.EXPORT)
        categories = frozenset(member.category_list) or None
    return Grant(str(member.role), frozenset(permissions), categories)


def memberships(user: StaffUser) -> list[TeamMember]:
    """The user's team memberships, read once per request."""
    cache: dict[int, list[TeamMember]] = g.setdefault("team_memberships", {})
    if user.id not in cache:
        cache[user.id] = list(
            db.session.scalars(select(TeamMember).where(TeamMember.user_id == user.id))
        )
    return cache[user.id]


def grant_of(user: StaffUser | None, event_id: int) -> Grant | None:
    """What `user` may do at event `event_id`; None for nothing (or no user)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if user.is_admin:
        return ADMIN_GRANT
    every = None
    for member in memberships(user):
        if member.event_id == event_id:
            return member_grant(member)
        if member.event_id is None:
            every = member
    return member_grant(every) if every is not None else None


def _signed_in() -> StaffUser | None:
    return current_user if current_user.is_authenticated else None


def grant(event_id: int) -> Grant | None:
    """What the signed-in person may do at event `event_id`."""
    return grant_of(_signed_in(), event_id)


def can(event: Event | int, permission: Permission | str) -> bool:
    """Whether the signed-in person may do `permission` at `event` (templates use this to offer
    only the links and buttons that will work)."""
    found = grant(event if isinstance(event, int) else event.id)
    return found is not None and found.allows(Permission(permission))


def event_for(event_id: int, permission: Permission) -> Event:
    """The event, if the signed-in person may do `permission` there; else 404."""
    found = grant(event_id)
    if found is None or not found.allows(permission):
        abort(404)
    return db.get_or_404(Event, event_id)


def registration_for(registration_id: int, permission: Permission) -> Registration:
    """The registration, if its event and category allow `permission` to the signed-in
    person; else 404."""
    registration = db.get_or_404(Registration, registration_id)
    found = grant(registration.event_id)
    if found is None or not found.allows(permission) or not found.reaches(registration.category):
        abort(404)
    return registration


def visible_event_ids(permission: Permission) -> set[int] | None:
    """The events where the signed-in person may do `permission`: None for every event (an
    admin, or a role on every event), else their ids."""
    user = _signed_in()
    if user is None:
        return set()
    if user.is_admin:
        return None
    members = memberships(user)
    every = next((m for m in members if m.event_id is None), None)
    specific: dict[int, TeamMember] = {
        m.event_id: m for m in members if m.event_id is not None
    }
    if every is not None and member_grant(every).allows(permission):
        # Every event, but for those where a narrower role of their own takes precedence.
        narrowed = {e for e, m in specific.items() if not member_grant(m).allows(permission)}
        if not narrowed:
            return None
        all_ids = set(db.session.scalars(select(Event.id)))
        return all_ids - narrowed
    return {e for e, m in specific.items() if member_grant(m).allows(permission)}


def visible_event_ids_any() -> set[int] | None:
    """The events where the signed-in person holds any role (None: every event)."""
    found: set[int] = set()
    for permission in Permission:
        ids = visible_event_ids(permission)
        if ids is None:
            return None
        found |= ids
    return found


def can_somewhere(permission: Permission | str) -> bool:
    """Whether the signed-in person may do `permission` at one event at least (templates
    offer the pages that span events, such as the outbox, only then)."""
    ids = visible_event_ids(Permission(permission))
    return ids is None or bool(ids)


def categories_of(event_id: int) -> frozenset[str] | None:
    """The categories the signed-in person reaches at event `event_id` (None: every one)."""
    found = grant(event_id)
    return found.categories if found is not None else frozenset()


def door_only() -> bool:
    """Whether the signed-in person holds door roles and nothing else: their staff home is
    the door page."""
    user = _signed_in()
    if user is None or user.is_admin:
        return False
    members = memberships(user)
    return bool(members) and all(m.role == TeamRole.DOOR for m in members)


def can_create_events(user: StaffUser | None = None) -> bool:
    """Admins and organizers of every event create events."""
    user = user or _signed_in()
    if user is None:
        return False
    if user.is_admin:
        return True
    return any(m.event_id is None and m.role == TeamRole.ORGANIZER for m in memberships(user))


def requires_two_factor(user: StaffUser) -> bool:
    """Admins, and anyone whose role anywhere reads needs and notes or exports, sign in with a
    second factor."""
    if user.is_admin:
        return True
    return any(member_grant(m).permissions & SENSITIVE for m in memberships(user))
