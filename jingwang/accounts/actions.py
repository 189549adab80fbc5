"""Account state changes: logins, language, passwords, second factor, API tokens, accounts.

Two persons for case data (docs/roles.md): the security admin creates and resets the accounts
of the 三员 directly, but creating an account with a role that reads case data, changing an
account's role to one, and resetting the password or second factor of such an account are
requests (``AccountRequest``) that a bureau admin of the account's bureau approves or refuses.
A password set by an administrator is temporary, made here, and shown once to whoever must hand
it over: the security admin for the 三员, the approving bureau admin otherwise, so the security
admin never knows the password of an account that reads case data.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jingwang.accounts import otp
from jingwang.accounts.models import AccountRequest, ApiToken, User
from jingwang.accounts.roles import (
    BUREAU_ROLES,
    THREE_ADMINS,
    Perm,
    has_perm,
    reads_case_data,
)
from jingwang.accounts.scope import deny, require
from jingwang.audit.actions import record
from jingwang.territory.models import Bureau, Station

# ---------------------------------------------------------------------------------------------
# Logins


def record_login(user: User, **detail: Any) -> None:
    record(user, "login", user, station_id=user.station_id, detail=detail or None)


def record_logout(user: User) -> None:
    record(user, "logout", user, station_id=user.station_id)


def record_failed_login(username: str, locked: bool, **detail: Any) -> None:
    record(
        None,
        "login_failed",
        outcome="denied",
        actor_name=username[:150],
        detail={"locked": locked, **detail},
    )


def set_language(user: Any, language: str) -> None:
    if getattr(user, "is_authenticated", False) and user.language != language:
        with transaction.atomic():
            user.language = language
            user.save(update_fields=["language"])
            record(user, "set_language", user, detail={"language": language})


# ---------------------------------------------------------------------------------------------
# Passwords


def temporary_password(user: User | None = None) -> str:
    """A random password that passes the password rules, like ``Xk7p-Qm2z-9Rtw``."""
    alphabet = "".join(ch for ch in string.ascii_letters + string.digits if ch not in "IlO0o1")
    while True:
        groups = ["".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3)]
        password = "-".join(groups)
        try:
            password_validation.validate_password(password, user)
        except ValidationError:
            continue
        return password


def _save_new(account: User) -> None:
    """Insert a new account; a username taken meanwhile by a request that raced this one is the
    same message as one taken before (case-insensitive uniqueness is also checked first)."""
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError as error:
        raise ValidationError({"username": _("This username is taken.")}) from error


def _set_temporary_password(account: User) -> str:
    password = temporary_password(account)
    account.set_password(password)
    account.password_is_temporary = True
    return password


def change_password(user: User, current: str, new: str) -> None:
    """The user changes their own password (the account page; after a temporary one)."""
    if not user.check_password(current):
        raise ValidationError({"current": _("This is not your current password.")})
    if new == current:
        raise ValidationError({"new": _("Choose a password other than the current one.")})
    try:
        password_validation.validate_password(new, user)
    except ValidationError as error:
        raise ValidationError({"new": error.messages}) from error
    with transaction.atomic():
        was_temporary = user.password_is_temporary
        user.set_password(new)
        user.password_is_temporary = False
        user.save(update_fields=["password", "password_is_temporary"])
        revoked = _revoke_tokens(user, ApiToken.Revoked.PASSWORD)
        record(
            user,
            "change_password",
            user,
            station_id=user.station_id,
            detail={"was_temporary": was_temporary, "tokens_revoked": revoked},
        )


# ---------------------------------------------------------------------------------------------
# API tokens


def create_api_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Make a token; the returned key is shown once and never stored."""
    key = ApiToken.new_key()
    now = timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=key[3:11],
            digest=ApiToken.digest_of(key),
            created_at=now,
            expires_at=now + timedelta(days=settings.API_TOKEN_DAYS),
            password_stamp=user.password_stamp(),
        )
        record(
            user,
            "create_api_token",
            token,
            station_id=user.station_id,
            detail={"name": name, "expires_at": token.expires_at.isoformat()},
        )
    return token, key


def revoke_api_token(actor: User, token: ApiToken) -> None:
    """Revoke one token: its own user's, or any account's by the security admin."""
    if token.user_id != actor.pk:
        require(actor, Perm.ACCOUNTS_MANAGE)
    reason = ApiToken.Revoked.USER if token.user_id == actor.pk else ApiToken.Revoked.ADMIN
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_reason=reason
        )
        if changed:
            record(
                actor,
                "revoke_api_token",
                token,
                station_id=token.user.station_id,
                detail={"user": token.user.username, "name": token.name, "reason": reason},
            )


def _revoke_tokens(user: User, reason: str) -> int:
    """End every live token of ``user`` (inside the caller's transaction and audit event)."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )


# ---------------------------------------------------------------------------------------------
# The second factor


def record_second_factor_failure(user: User, locked: bool, step: str) -> None:
    record_failed_login(user.username, locked, step=step)


def record_enrolment(user: User, codes: int) -> None:
    record(
        user,
        "enrol_second_factor",
        user,
        station_id=user.station_id,
        detail={"recovery_codes": codes},
    )


def record_recovery_code_used(user: User) -> None:
    record(
        user,
        "use_recovery_code",
        user,
        station_id=user.station_id,
        detail={"left": otp.recovery_codes_left(user)},
    )


def regenerate_recovery_codes(user: User, code: str) -> list[str]:
    """New recovery codes for a user who proves they hold their authenticator (a current code)."""
    if otp.verify(user, code) is None:
        raise ValidationError({"code": _("This code is not right. Type the code now shown.")})
    with transaction.atomic():
        codes = otp.replace_recovery_codes(user)
        record(
            user,
            "regenerate_recovery_codes",
            user,
            station_id=user.station_id,
            detail={"recovery_codes": len(codes)},
        )
    return codes


# ---------------------------------------------------------------------------------------------
# Accounts, by the security admin; requests, decided by a bureau admin


@dataclass
class Done:
    """What an account change did: a change made, or a request waiting for approval, and the
    temporary password to show once to the person who hands it over."""

    account: User | None = None
    request: AccountRequest | None = None
    password: str | None = None


def _placement(
    role: str, bureau: Bureau | None, station: Station | None
) -> tuple[Bureau | None, Station | None]:
    """The bureau and station an account of ``role`` is attached to, or a message per field."""
    if role in BUREAU_ROLES:
        if bureau is None:
            raise ValidationError({"bureau": _("A bureau admin needs a bureau.")})
        return bureau, None
    if role in THREE_ADMINS:
        return None, None
    if station is None:
        raise ValidationError({"station": _("This role needs a station.")})
    return None, station


def _bureau_of(account: User) -> Bureau:
    """The bureau whose admin decides about an account (the bureau whose data it reads)."""
    if account.bureau_id is not None:
        assert account.bureau is not None
        return account.bureau
    if account.station_id is not None:
        assert account.station is not None
        return account.station.bureau
    raise ValidationError(
        _("This account belongs to no bureau or station: no bureau admin can approve for it.")
    )


def _refuse_own(actor: User, account: User, what: str) -> None:
    """The security admin changes other accounts, never their own, through the admin page."""
    if account.pk == actor.pk:
        deny(actor, "accounts.user", account.pk, mode="write", reason=f"own account: {what}")


def _no_pending_request(account: User) -> None:
    if AccountRequest.objects.filter(account=account, status="pending").exists():
        raise ValidationError(
            _("A request about this account is waiting for approval: decide it first.")
        )


def _new_request(actor: User, **fields: Any) -> AccountRequest:
    try:
        with transaction.atomic():
            request = AccountRequest.objects.create(requested_by=actor, **fields)
    except IntegrityError as error:
        raise ValidationError(
            _("A request about this account is waiting for approval: decide it first.")
        ) from error
    record(
        actor,
        "request_account_change",
        request,
        station_id=request.station_id,
        detail={
            "kind": request.kind,
            "username": request.username,
            "role": request.role,
            "account": request.account_id,
        },
    )
    return request


def create_account(
    actor: User,
    *,
    username: str,
    role: str,
    bureau: Bureau | None = None,
    station: Station | None = None,
    full_name: str = "",
    note: str = "",
) -> Done:
    """A new account: made at once for the 三员 (with a temporary password for the security
    admin to hand over); for any role that reads case data, a request for a bureau admin."""
    require(actor, Perm.ACCOUNTS_MANAGE)
    bureau, station = _placement(role, bureau, station)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is taken.")})
    if reads_case_data(role):
        approver_bureau = bureau if bureau is not None else station.bureau  # type: ignore[union-attr]
        if AccountRequest.objects.filter(
            kind="create", status="pending", username__iexact=username
        ).exists():
            raise ValidationError(
                {"username": _("An account with this username is already waiting for approval.")}
            )
        with transaction.atomic():
            request = _new_request(
                actor,
                kind=AccountRequest.Kind.CREATE,
                bureau=approver_bureau,
                username=username,
                full_name=full_name,
                role=role,
                station=station,
                note=note,
            )
        return Done(request=request)
    with transaction.atomic():
        account = User(username=username, role=role, first_name=full_name[:150])
        password = _set_temporary_password(account)
        _save_new(account)
        record(actor, "create_user", account, detail={"role": role})
    return Done(account=account, password=password)


def change_role(
    actor: User,
    account: User,
    *,
    role: str,
    bureau: Bureau | None = None,
    station: Station | None = None,
    note: str = "",
) -> Done:
    """Give an account another role (or move it): a request when the new role reads case data,
    made at once when it is one of the 三员."""
    require(actor, Perm.ACCOUNTS_MANAGE)
    _refuse_own(actor, account, "role")
    bureau, station = _placement(role, bureau, station)
    if (account.role, account.bureau_id, account.station_id) == (
        role,
        bureau.pk if bureau else None,
        station.pk if station else None,
    ):
        raise ValidationError({"role": _("The account already has this role and place.")})
    _no_pending_request(account)
    if reads_case_data(role):
        approver_bureau = bureau if bureau is not None else station.bureau  # type: ignore[union-attr]
        with transaction.atomic():
            request = _new_request(
                actor,
                kind=AccountRequest.Kind.CHANGE_ROLE,
                account=account,
                bureau=approver_bureau,
                username=account.username,
                role=role,
                station=station,
                note=note,
            )
        return Done(account=account, request=request)
    with transaction.atomic():
        _apply_role(actor, account, role, bureau, station, request=None)
    return Done(account=account)


def _apply_role(
    actor: User,
    account: User,
    role: str,
    bureau: Bureau | None,
    station: Station | None,
    request: AccountRequest | None,
) -> str | None:
    """Write a role change. An account that had no case data and now gets some starts afresh:
    a new temporary password (for the approver to hand over) and no second factor, so nothing
    set while it was a 三员 account carries over."""
    from jingwang.accounts.scope import forget

    before = account.role
    password = None
    account.role, account.bureau, account.station = role, bureau, station
    fields = ["role", "bureau", "station"]
    if reads_case_data(role) and not reads_case_data(before):
        password = _set_temporary_password(account)
        otp.remove_devices(account)
        fields += ["password", "password_is_temporary"]
    account.save(update_fields=fields)
    forget(account)
    revoked = _revoke_tokens(account, ApiToken.Revoked.ROLE)
    record(
        actor,
        "change_role",
        account,
        station_id=account.station_id,
        detail={
            "from": before,
            "to": role,
            "bureau": bureau.pk if bureau else None,
            "station": station.pk if station else None,
            "new_password": password is not None,
            "tokens_revoked": revoked,
            "request": request.pk if request else None,
        },
    )
    return password


def _ask_about(actor: User, account: User, kind: str, note: str) -> Done:
    """A request about an existing account, for a bureau admin of its bureau."""
    with transaction.atomic():
        request = _new_request(
            actor,
            kind=kind,
            account=account,
            bureau=_bureau_of(account),
            username=account.username,
            note=note,
        )
    return Done(account=account, request=request)


def reset_password(actor: User, account: User, note: str = "") -> Done:
    """A new temporary password: at once for a 三员 account (shown to the security admin), by
    request for an account that reads case data (shown to the approving bureau admin)."""
    require(actor, Perm.ACCOUNTS_MANAGE)
    _refuse_own(actor, account, "password")
    _no_pending_request(account)
    if reads_case_data(account.role):
        return _ask_about(actor, account, AccountRequest.Kind.RESET_PASSWORD, note)
    with transaction.atomic():
        password = _apply_reset_password(actor, account, request=None)
    return Done(account=account, password=password)


def _apply_reset_password(actor: User, account: User, request: AccountRequest | None) -> str:
    password = _set_temporary_password(account)
    account.save(update_fields=["password", "password_is_temporary"])
    revoked = _revoke_tokens(account, ApiToken.Revoked.PASSWORD)
    record(
        actor,
        "reset_password",
        account,
        station_id=account.station_id,
        detail={"tokens_revoked": revoked, "request": request.pk if request else None},
    )
    return password


def reset_second_factor(actor: User, account: User, note: str = "") -> Done:
    """Forget an account's authenticator and recovery codes (lost phone): its next login enrols
    a new one. At once for a 三员 account, by request for a bureau admin."""
    require(actor, Perm.ACCOUNTS_MANAGE)
    _refuse_own(actor, account, "second factor")
    if not otp.has_second_factor(account) and not otp.recovery_codes_left(account):
        raise ValidationError(_("This account has no second factor to reset."))
    _no_pending_request(account)
    if reads_case_data(account.role):
        return _ask_about(actor, account, AccountRequest.Kind.RESET_SECOND_FACTOR, note)
    with transaction.atomic():
        _apply_reset_second_factor(actor, account, request=None)
    return Done(account=account)


def _apply_reset_second_factor(actor: User, account: User, request: AccountRequest | None) -> None:
    removed = otp.remove_devices(account)
    record(
        actor,
        "reset_second_factor",
        account,
        station_id=account.station_id,
        detail={"devices_removed": removed, "request": request.pk if request else None},
    )


def approve_request(actor: User, request: AccountRequest) -> Done:
    """A bureau admin approves: the change is made now. ``request`` comes from
    ``queries.access_request(actor, id, write=True)`` (the actor's bureau, ``accounts.approve``).

    Nobody approves their own request nor one about themselves (a ``denied`` event, 404).
    """
    require(actor, Perm.ACCOUNTS_APPROVE)
    if actor.pk in (request.requested_by_id, request.account_id):
        deny(
            actor,
            "accounts.accountrequest",
            request.pk,
            mode="write",
            reason="own request" if actor.pk == request.requested_by_id else "about themselves",
        )
    with transaction.atomic():
        locked = AccountRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != AccountRequest.Status.PENDING:
            raise ValidationError(_("This request was already decided."))
        done = _carry_out(actor, locked)
        locked.status = AccountRequest.Status.APPROVED
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.account = done.account
        locked.save(update_fields=["status", "decided_by", "decided_at", "account"])
        record(
            actor,
            "approve_account_request",
            locked,
            station_id=locked.station_id,
            detail={
                "kind": locked.kind,
                "username": locked.username,
                "role": locked.role,
                "requested_by": locked.requested_by.username,
                "account": locked.account_id,
            },
        )
    done.request = locked
    return done


def _carry_out(actor: User, request: AccountRequest) -> Done:
    kind = request.kind
    if kind == AccountRequest.Kind.CREATE:
        if User.objects.filter(username__iexact=request.username).exists():
            raise ValidationError(
                _("The username %(name)s was taken since the request: refuse it.")
                % {"name": request.username}
            )
        bureau = request.bureau if request.role in BUREAU_ROLES else None
        account = User(
            username=request.username,
            role=request.role,
            first_name=request.full_name[:150],
            bureau=bureau,
            station=request.station,
        )
        password = _set_temporary_password(account)
        _save_new(account)
        record(
            actor,
            "create_user",
            account,
            detail={"role": account.role, "request": request.pk},
        )
        return Done(account=account, password=password)
    assert request.account_id is not None
    account = User.objects.select_for_update().get(pk=request.account_id)
    if kind == AccountRequest.Kind.CHANGE_ROLE:
        new_bureau = request.bureau if request.role in BUREAU_ROLES else None
        issued = _apply_role(actor, account, request.role, new_bureau, request.station, request)
        return Done(account=account, password=issued)
    if kind == AccountRequest.Kind.RESET_PASSWORD:
        return Done(account=account, password=_apply_reset_password(actor, account, request))
    _apply_reset_second_factor(actor, account, request)
    return Done(account=account)


def refuse_request(actor: User, request: AccountRequest, reason: str) -> AccountRequest:
    """A bureau admin refuses, saying why. Same rules as approving."""
    require(actor, Perm.ACCOUNTS_APPROVE)
    if actor.pk in (request.requested_by_id, request.account_id):
        deny(actor, "accounts.accountrequest", request.pk, mode="write", reason="own request")
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the request is refused.")})
    return _close(actor, request, AccountRequest.Status.REFUSED, reason, "refuse_account_request")


def withdraw_request(actor: User, request: AccountRequest) -> AccountRequest:
    """The security admin takes back a request they made that is still waiting."""
    require(actor, Perm.ACCOUNTS_MANAGE)
    if actor.pk != request.requested_by_id:
        deny(actor, "accounts.accountrequest", request.pk, mode="write", reason="not the requester")
    return _close(actor, request, AccountRequest.Status.WITHDRAWN, "", "withdraw_account_request")


def _close(
    actor: User, request: AccountRequest, status: str, reason: str, action: str
) -> AccountRequest:
    with transaction.atomic():
        locked = AccountRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != AccountRequest.Status.PENDING:
            raise ValidationError(_("This request was already decided."))
        locked.status = status
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.reason = reason[:500]
        locked.save(update_fields=["status", "decided_by", "decided_at", "reason"])
        record(
            actor,
            action,
            locked,
            station_id=locked.station_id,
            detail={"kind": locked.kind, "username": locked.username, "reason": reason[:500]},
        )
    return locked


def unlock_account(actor: Any, user: User) -> None:
    """Lift a lockout after failed logins (the person called the security admin)."""
    from axes.utils import reset

    require(actor, Perm.ACCOUNTS_MANAGE)
    with transaction.atomic():
        reset(username=user.username)
        record(actor, "unlock_account", user, station_id=user.station_id)


def set_active(actor: Any, user: User, active: bool) -> None:
    """Disable an account (someone left) or enable it again; a disabled account cannot log in,
    and its API tokens end (enabling it again does not bring them back)."""
    require(actor, Perm.ACCOUNTS_MANAGE)
    _refuse_own(actor, user, "disable")
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        revoked = 0 if active else _revoke_tokens(user, ApiToken.Revoked.DISABLED)
        record(
            actor,
            "enable_account" if active else "disable_account",
            user,
            station_id=user.station_id,
            detail={"tokens_revoked": revoked} if revoked else None,
        )


def can_decide(actor: User, request: AccountRequest) -> bool:
    """Whether ``actor`` may approve or refuse ``request`` (for showing the buttons)."""
    return (
        has_perm(actor, Perm.ACCOUNTS_APPROVE)
        and request.status == AccountRequest.Status.PENDING
        and request.bureau_id == actor.bureau_id
        and actor.pk not in (request.requested_by_id, request.account_id)
    )


def create_first_account(
    *,
    username: str,
    role: str,
    bureau: Bureau | None = None,
    station: Station | None = None,
    full_name: str = "",
) -> tuple[User, str]:
    """An account made by the operator on the server's command line (``jingwang
    create-account``): the first security admin, system admin and bureau admin of a new
    installation, which no one could approve yet. Someone at the server's command line holds the
    keys anyway; the event records that it came from there. The password is temporary."""
    bureau, station = _placement(role, bureau, station)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is taken.")})
    with transaction.atomic():
        account = User(
            username=username, role=role, bureau=bureau, station=station, first_name=full_name[:150]
        )
        password = _set_temporary_password(account)
        _save_new(account)
        record(
            None,
            "create_user",
            account,
            actor_name="command line",
            station_id=account.station_id,
            detail={"role": role, "source": "command line"},
        )
    return account, password
