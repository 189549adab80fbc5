"""Reads of accounts and account requests, through the scope door (``accounts.scope``)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from jingwang.accounts.models import AccountRequest, ApiToken, User
from jingwang.accounts.roles import Perm, has_perm
from jingwang.accounts.scope import access, visible


def accounts_visible_to(user: Any) -> QuerySet[User]:
    """Every account, for the security admin; none for anyone else."""
    return visible(
        user,
        User.objects.select_related("station", "bureau"),
        perm=Perm.ACCOUNTS_MANAGE,
        station=None,
        also=Q(pk__isnull=False),
    )


def access_account(user: Any, account_id: Any, *, write: bool = False) -> User:
    return access(
        user, accounts_visible_to(user), account_id, write=write, write_perm=Perm.ACCOUNTS_MANAGE
    )


def requests_visible_to(user: Any) -> QuerySet[AccountRequest]:
    """The security admin sees every request; a bureau admin those of their own bureau."""
    rows = AccountRequest.objects.select_related(
        "account", "bureau", "station", "requested_by", "decided_by"
    )
    if has_perm(user, Perm.ACCOUNTS_MANAGE):
        return rows
    return visible(
        user,
        rows,
        perm=Perm.ACCOUNTS_APPROVE,
        station=None,
        also=Q(bureau_id=getattr(user, "bureau_id", None) or 0),
    )


def access_request(user: Any, request_id: Any, *, write: bool = False) -> AccountRequest:
    """One request; ``write`` (deciding it) needs ``accounts.approve``."""
    return access(
        user,
        requests_visible_to(user),
        request_id,
        write=write,
        write_perm=Perm.ACCOUNTS_APPROVE,
    )


def pending_for(user: Any) -> QuerySet[AccountRequest]:
    """Requests waiting for ``user``'s decision (not their own, not about themselves)."""
    if not has_perm(user, Perm.ACCOUNTS_APPROVE):
        return AccountRequest.objects.none()
    return (
        requests_visible_to(user)
        .filter(status=AccountRequest.Status.PENDING)
        .exclude(requested_by=user)
        .exclude(account=user)
    )


def tokens_of(account: User) -> QuerySet[ApiToken]:
    return account.api_tokens.order_by("-created_at", "-id")


def access_token(user: Any, account: User, token_id: Any) -> ApiToken:
    """One API token of ``account``, for the security admin to revoke (``write``)."""
    return access(
        user,
        ApiToken.objects.filter(user=account),
        token_id,
        write=True,
        write_perm=Perm.ACCOUNTS_MANAGE,
    )


def login_candidate(user_id: int) -> User | None:
    """The active account a half-done login (password passed, second factor to come) is for.

    Not a scoped read: the login pages have no user yet to scope by.
    """
    return User.objects.filter(pk=user_id, is_active=True).first()
