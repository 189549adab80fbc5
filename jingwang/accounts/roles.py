"""Roles and what each may do. docs/roles.md documents this table; a test keeps them in step."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    BUREAU_ADMIN = "bureau_admin", _("Bureau admin")
    STATION_CHIEF = "station_chief", _("Station chief")
    OFFICER = "officer", _("Community officer")
    AUXILIARY = "auxiliary", _("Auxiliary officer")
    GRID_WORKER = "grid_worker", _("Grid worker")
    MEDIATOR = "mediator", _("Mediator")
    VOLUNTEER = "volunteer", _("Volunteer")
    # An outside member of a tier-2 or tier-3 mediation body (a deputy, a CPPCC member, the
    # judicial office, ...): sees only the disputes they are called to.
    MEDIATION_MEMBER = "mediation_member", _("Member of a mediation body")
    SECURITY_ADMIN = "security_admin", _("Security admin")
    SYSTEM_ADMIN = "system_admin", _("System admin")
    AUDITOR = "auditor", _("Auditor")


# Roles whose scope is a whole bureau, a station, or only the grids they are assigned to.
BUREAU_ROLES = frozenset({Role.BUREAU_ADMIN})
STATION_ROLES = frozenset({Role.STATION_CHIEF, Role.OFFICER, Role.AUXILIARY, Role.MEDIATOR})
GRID_ROLES = frozenset({Role.GRID_WORKER, Role.VOLUNTEER})
# 三员: they manage the system and read the log; none reads case data by default.
THREE_ADMINS = frozenset({Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR})
# Every other role reads case data: granting one, or resetting the password or second factor of
# an account that has one, takes a second person (docs/roles.md, "Two persons for case data").
CASE_DATA_ROLES = frozenset(Role) - THREE_ADMINS
# Privileged accounts log in with a second factor (TOTP, or a recovery code).
SECOND_FACTOR_ROLES = THREE_ADMINS | BUREAU_ROLES


class Perm(models.TextChoices):
    TERRITORY_VIEW = "territory.view", _("See the territory map, grids and coverage")
    TERRITORY_IMPORT = "territory.import", _("Import communities and base units")
    TERRITORY_DIVIDE = "territory.divide", _("Run grid divisions and apply them as new grids")
    PEOPLE_VIEW = "people.view", _("See people and their assignments")
    PEOPLE_MANAGE = "people.manage", _("Add and edit people, assignments and committee posts")
    PII_UNMASK = "pii.unmask", _("See full ID and phone numbers")
    AUDIT_VIEW = "audit.view", _("Read the audit log")
    ACCOUNTS_MANAGE = "accounts.manage", _("Manage accounts and roles")
    ACCOUNTS_APPROVE = (
        "accounts.approve",
        _("Approve or refuse requests that give an account case data"),
    )
    SYSTEM_CONFIGURE = "system.configure", _("Manage bureaus, stations and their settings")
    INCIDENTS_VIEW = "incidents.view", _("See incidents, callbacks and their figures")
    INCIDENTS_RECORD = "incidents.record", _("Record, edit, place and close incidents")
    CALLBACKS_WORK = "callbacks.work", _("Work the callback queue")
    RECTIFICATIONS_MANAGE = "rectifications.manage", _("Own and close rectifications")
    STATION_CONFIGURE = "station.configure", _("Set a station's own choices (SMS surveys, ...)")
    SMS_VIEW = "sms.view", _("See the SMS outbox and opt-outs")
    DISPUTES_VIEW = "disputes.view", _("See disputes, their mediation and figures")
    DISPUTES_RECORD = "disputes.record", _("Register disputes and edit their facts and parties")
    DISPUTES_MEDIATE = (
        "disputes.mediate",
        _("Mediate disputes: sessions, legal track, agreements, follow-ups, referrals"),
    )
    DISPUTES_TRIAGE = "disputes.triage", _("Override a dispute's tier, escalate or de-escalate")
    DISPUTES_MANAGE = "disputes.manage", _("Manage the rosters of the mediation bodies")


# The bureau admin and the station chief manage the same things, over a bureau or a station.
MANAGER_PERMS = frozenset(
    {
        Perm.TERRITORY_VIEW,
        Perm.TERRITORY_IMPORT,
        Perm.TERRITORY_DIVIDE,
        Perm.PEOPLE_VIEW,
        Perm.PEOPLE_MANAGE,
        Perm.PII_UNMASK,
        Perm.INCIDENTS_VIEW,
        Perm.INCIDENTS_RECORD,
        Perm.CALLBACKS_WORK,
        Perm.RECTIFICATIONS_MANAGE,
        Perm.STATION_CONFIGURE,
        Perm.SMS_VIEW,
        Perm.DISPUTES_VIEW,
        Perm.DISPUTES_RECORD,
        Perm.DISPUTES_MEDIATE,
        Perm.DISPUTES_TRIAGE,
        Perm.DISPUTES_MANAGE,
    }
)

PERMISSIONS: dict[str, frozenset[str]] = {
    # Only the bureau admin approves account requests, not a station chief: a chief could
    # otherwise approve an account at their own station that reports to them.
    Role.BUREAU_ADMIN: MANAGER_PERMS | {Perm.ACCOUNTS_APPROVE},
    Role.STATION_CHIEF: MANAGER_PERMS,
    Role.OFFICER: frozenset(
        {
            Perm.TERRITORY_VIEW,
            Perm.PEOPLE_VIEW,
            Perm.PII_UNMASK,
            Perm.INCIDENTS_VIEW,
            Perm.INCIDENTS_RECORD,
            Perm.CALLBACKS_WORK,
            Perm.DISPUTES_VIEW,
            Perm.DISPUTES_RECORD,
            Perm.DISPUTES_MEDIATE,
            Perm.DISPUTES_TRIAGE,
        }
    ),
    Role.AUXILIARY: frozenset(
        {
            Perm.TERRITORY_VIEW,
            Perm.PEOPLE_VIEW,
            Perm.INCIDENTS_VIEW,
            Perm.INCIDENTS_RECORD,
            Perm.CALLBACKS_WORK,
            Perm.DISPUTES_VIEW,
            Perm.DISPUTES_RECORD,
        }
    ),
    Role.GRID_WORKER: frozenset(
        {
            Perm.TERRITORY_VIEW,
            Perm.PEOPLE_VIEW,
            Perm.INCIDENTS_VIEW,
            Perm.DISPUTES_VIEW,
            Perm.DISPUTES_RECORD,
            Perm.DISPUTES_MEDIATE,
        }
    ),
    Role.MEDIATOR: frozenset(
        {
            Perm.TERRITORY_VIEW,
            Perm.PEOPLE_VIEW,
            Perm.DISPUTES_VIEW,
            Perm.DISPUTES_RECORD,
            Perm.DISPUTES_MEDIATE,
            Perm.DISPUTES_TRIAGE,
        }
    ),
    Role.VOLUNTEER: frozenset({Perm.TERRITORY_VIEW}),
    Role.MEDIATION_MEMBER: frozenset({Perm.DISPUTES_VIEW, Perm.DISPUTES_MEDIATE}),
    Role.SECURITY_ADMIN: frozenset({Perm.ACCOUNTS_MANAGE}),
    Role.SYSTEM_ADMIN: frozenset({Perm.SYSTEM_CONFIGURE}),
    Role.AUDITOR: frozenset({Perm.AUDIT_VIEW}),
}


def has_perm(user: object, perm: str) -> bool:
    role = getattr(user, "role", None)
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    return perm in PERMISSIONS.get(role or "", frozenset())


def reads_case_data(role: str | None) -> bool:
    return role in CASE_DATA_ROLES


def needs_second_factor(user: object) -> bool:
    """Whether the user's role logs in with a second factor (the 三员 and bureau admins)."""
    return getattr(user, "role", None) in SECOND_FACTOR_ROLES
