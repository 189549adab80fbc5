"""Account state changes: logins, language, API tokens, users."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.db import transaction
from django.utils import timezone

from jingwang.accounts.models import ApiToken, User
from jingwang.audit.actions import record


def record_login(user: User) -> None:
    record(user, "login", user, station_id=user.station_id)


def record_logout(user: User) -> None:
    record(user, "logout", user, station_id=user.station_id)


def record_failed_login(username: str, locked: bool) -> None:
    record(
        None,
        "login_failed",
        outcome="denied",
        actor_name=username[:150],
        detail={"locked": locked},
    )


def set_language(user: Any, language: str) -> None:
    if getattr(user, "is_authenticated", False) and user.language != language:
        with transaction.atomic():
            user.language = language
            user.save(update_fields=["language"])
            record(user, "set_language", user, detail={"language": language})


def create_api_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Make a token; the returned key is shown once and never stored."""
    key = ApiToken.new_key()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=key[3:11], digest=ApiToken.digest_of(key)
        )
        record(user, "create_api_token", token, station_id=user.station_id, detail={"name": name})
    return token, key


def revoke_api_token(user: User, token: ApiToken) -> None:
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(user, "revoke_api_token", token, station_id=user.station_id)


def create_user(actor: Any, *, username: str, password: str, role: str, **fields: Any) -> User:
    user = User(username=username, role=role, **fields)
    password_validation.validate_password(password, user)
    user.set_password(password)
    with transaction.atomic():
        user.save()
        record(actor, "create_user", user, station_id=user.station_id, detail={"role": role})
    return user


def unlock_account(actor: Any, user: User) -> None:
    """Lift a lockout after failed logins (the person called the security admin)."""
    from axes.utils import reset

    with transaction.atomic():
        reset(username=user.username)
        record(actor, "unlock_account", user, station_id=user.station_id)


def set_active(actor: Any, user: User, active: bool) -> None:
    """Disable an account (someone left) or enable it again; a disabled account cannot log in."""
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        record(
            actor,
            "enable_account" if active else "disable_account",
            user,
            station_id=user.station_id,
        )


def reset_password(actor: Any, user: User, password: str) -> None:
    """Set a new password chosen by the security admin (validated like any other)."""
    password_validation.validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        record(actor, "reset_password", user, station_id=user.station_id)
