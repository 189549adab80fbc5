from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jingwang.accounts.roles import Role


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    bureau = models.ForeignKey(
        "territory.Bureau",
        verbose_name=_("bureau"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    station = models.ForeignKey(
        "territory.Station",
        verbose_name=_("station"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    language = models.CharField(_("language"), max_length=10, blank=True)
    # Set by an administrator (at creation, on a reset, on an approval): the user must change
    # it before anything else (accounts.middleware.TemporaryPasswordMiddleware).
    password_is_temporary = models.BooleanField(_("temporary password"), default=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def password_stamp(self) -> str:
        """A fingerprint of the current password hash: tokens made under another one are dead."""
        return hashlib.sha256(self.password.encode()).hexdigest()[:32]


class ApiToken(models.Model):
    """A per-user API token. Only its SHA-256 is stored; the key is shown once.

    A token works until it expires (``JINGWANG_API_TOKEN_DAYS`` after it was made) or is
    revoked: by its user, by the security admin, or with a password change, a reset, a role
    change or a disable of its user. ``password_stamp`` catches a password changed by any other
    path: a token made under another password is refused.
    """

    class Revoked(models.TextChoices):
        USER = "user", _("revoked by its user")
        ADMIN = "admin", _("revoked by the security admin")
        PASSWORD = "password", _("the password changed")
        ROLE = "role", _("the role changed")
        DISABLED = "disabled", _("the account was disabled")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=8)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    password_stamp = models.CharField(max_length=32)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=16, choices=Revoked.choices, blank=True)

    class Meta:
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"{self.name} (jw_{self.prefix}…)"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or timezone.now())

    @property
    def is_alive(self) -> bool:
        return self.revoked_at is None and not self.is_expired()

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def new_key() -> str:
        return "jw_" + secrets.token_urlsafe(32)


class IdempotentRequest(models.Model):
    """The answer to an API create sent with an ``Idempotency-Key``, kept so a retry of the
    same request gets the same answer instead of making a duplicate."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    path = models.CharField(max_length=300)
    digest = models.CharField(max_length=64)  # SHA-256 of the request body
    status = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.key}"


class AccountRequest(models.Model):
    """A change that gives an account case data, waiting for a second person.

    The security admin asks (``requested_by``); a bureau admin of ``bureau`` who is neither the
    requester nor the account approves or refuses it (``decided_by``, with a reason when
    refused). A temporary password made on approval is shown once to the approver, never stored
    here.
    """

    class Kind(models.TextChoices):
        CREATE = "create", _("create an account")
        CHANGE_ROLE = "change_role", _("change the role")
        RESET_PASSWORD = "reset_password", _("reset the password")
        RESET_SECOND_FACTOR = "reset_second_factor", _("reset the second factor")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for approval")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")
        WITHDRAWN = "withdrawn", _("withdrawn")

    kind = models.CharField(_("request"), max_length=24, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    # The account concerned (for a creation: set when it is approved).
    account = models.ForeignKey(
        User,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="account_requests",
    )
    # The bureau whose admin decides: the bureau the account will read the data of.
    bureau = models.ForeignKey(
        "territory.Bureau", verbose_name=_("bureau"), on_delete=models.PROTECT, related_name="+"
    )
    # What the account is to become (creation, role change).
    username = models.CharField(_("username"), max_length=150, blank=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, blank=True)
    station = models.ForeignKey(
        "territory.Station",
        verbose_name=_("station"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField(_("why"), max_length=500, blank=True)
    requested_by = models.ForeignKey(
        User, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    decided_by = models.ForeignKey(
        User,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("account request")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One open request per account, and per new username.
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(status="pending", account__isnull=False),
                name="account_request_one_pending_per_account",
            ),
            models.UniqueConstraint(
                Lower("username"),
                condition=models.Q(status="pending", kind="create"),
                name="account_request_one_pending_per_username",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.username}"
