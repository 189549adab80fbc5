"""The second factor of privileged accounts: a TOTP authenticator and one-use recovery codes.

Built on django-otp: a ``TOTPDevice`` (an authenticator app: RFC 6238, 6 digits, 30 s) and a
``StaticDevice`` whose tokens are the recovery codes (each deleted when used). An unconfirmed
TOTP device is an enrolment in progress; it counts once a first code from it was accepted.

The demo's privileged accounts are enrolled with secrets derived from their usernames and a
fixed, public seed (``enrol_for_demo``), so ``make demo`` can print what is needed to log in and
``jingwang otp-code`` can print a current code; ``is_demo_device`` tells those apart from real
enrolments, which are random.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from binascii import unhexlify

from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from jingwang.accounts.models import User

RECOVERY_CODES = 10
DEVICE_NAME = "authenticator"
RECOVERY_NAME = "recovery"
# Public on purpose: the demo's secrets must be reproducible by anyone who runs the demo.
DEMO_SEED = b"jingwang demo second factor 2026"
# Recovery codes: 10 characters of an alphabet without look-alikes, shown as xxxxx-xxxxx.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def has_second_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def pending_device(user: User) -> TOTPDevice:
    """The enrolment in progress (an unconfirmed device), made on first ask; the same secret is
    shown again on a reload, so a half-finished enrolment can be finished."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(unhexlify(device.key)).decode()


def normalize(code: str) -> str:
    """What the user typed, without spaces and dashes, lower-case."""
    return "".join(ch for ch in code.strip().lower() if ch not in " -\t")


def looks_like_totp(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()


def format_recovery(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def _random_recovery() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


def replace_recovery_codes(user: User, codes: list[str] | None = None) -> list[str]:
    """New recovery codes (the old ones stop working); returned to be shown once."""
    codes = codes or [_random_recovery() for _ in range(RECOVERY_CODES)]
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return [format_recovery(c) for c in codes]


def remove_devices(user: User) -> int:
    """Forget the user's second factor (a reset): the next login enrols a new one."""
    removed, _rows = TOTPDevice.objects.filter(user=user).delete()
    removed_static, _rows = StaticDevice.objects.filter(user=user).delete()
    return removed + removed_static


def verify(user: User, code: str) -> tuple[str, int] | None:
    """Check a 6-digit code from the confirmed authenticator, or a recovery code (used up).

    Returns ``(kind, device_id)`` with kind ``"totp"`` or ``"recovery"``, or None. The device
    row is locked while it is checked, so one code is never accepted twice (django-otp keeps the
    last accepted time step; a recovery code is deleted).
    """
    code = normalize(code)
    with transaction.atomic():
        if looks_like_totp(code):
            device = (
                TOTPDevice.objects.select_for_update()
                .filter(user=user, confirmed=True)
                .order_by("id")
                .first()
            )
            if device is not None and device.verify_token(code):
                return "totp", device.pk
            return None
        static = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if static is not None and len(code) == 10 and static.verify_token(code):
            return "recovery", static.pk
    return None


def confirm(device: TOTPDevice, code: str) -> bool:
    """Finish an enrolment: the first code from the new authenticator confirms it; any older
    device of the user is removed."""
    code = normalize(code)
    if not looks_like_totp(code):
        return False
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().filter(pk=device.pk).first()
        if locked is None or locked.confirmed or not locked.verify_token(code):
            return False
        TOTPDevice.objects.filter(user_id=locked.user_id).exclude(pk=locked.pk).delete()
        locked.confirmed = True
        locked.save(update_fields=["confirmed"])
        device.confirmed = True
    return True


def device_for_session(user: User, kind: str, device_id: int) -> TOTPDevice | StaticDevice:
    model = TOTPDevice if kind == "totp" else StaticDevice
    return model.objects.get(pk=device_id, user=user)


# ---------------------------------------------------------------------------------------------
# The demo


def _demo_bytes(username: str, purpose: str, size: int) -> bytes:
    return hmac.new(DEMO_SEED, f"{purpose}:{username}".encode(), hashlib.sha256).digest()[:size]


def demo_secret(username: str) -> str:
    """The demo's TOTP secret of ``username`` (base32), the same on every machine."""
    return base64.b32encode(_demo_bytes(username, "totp", 20)).decode()


def demo_recovery_codes(username: str) -> list[str]:
    codes = []
    for index in range(RECOVERY_CODES):
        raw = _demo_bytes(username, f"recovery{index}", 10)
        codes.append("".join(_ALPHABET[b % len(_ALPHABET)] for b in raw))
    return codes


def enrol_for_demo(user: User) -> tuple[str, list[str]]:
    """Enrol a demo account's second factor with secrets derived from its username.

    Returns ``(secret_base32, recovery_codes)`` for ``make demo`` to print. Only for the demo:
    anyone can compute these from the username, which is the point there and a hole anywhere
    else.
    """
    secret = demo_secret(user.username)
    raw = _demo_bytes(user.username, "totp", 20)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        TOTPDevice.objects.create(user=user, name=DEVICE_NAME, key=raw.hex(), confirmed=True)
        codes = replace_recovery_codes(user, demo_recovery_codes(user.username))
    return secret, codes


def demo_enrolment(user: User) -> tuple[str, list[str]] | None:
    """What ``enrol_for_demo`` gave ``user``, read back (for ``jingwang demo`` run again): the
    secret and the recovery codes not used yet; None unless the account holds its demo secret."""
    device = confirmed_device(user)
    if device is None or not is_demo_device(device):
        return None
    left = set(
        StaticToken.objects.filter(device__user=user, device__confirmed=True).values_list(
            "token", flat=True
        )
    )
    codes = [format_recovery(c) for c in demo_recovery_codes(user.username) if c in left]
    return demo_secret(user.username), codes


def is_demo_device(device: TOTPDevice) -> bool:
    """Whether the device holds the public demo secret of its user (so a code may be shown)."""
    expected = _demo_bytes(device.user.username, "totp", 20).hex()
    return hmac.compare_digest(device.key, expected)


def current_code(device: TOTPDevice, at: float | None = None) -> tuple[str, int]:
    """The device's code now and the seconds it stays valid."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    left = device.step - int(totp.time - device.t0) % device.step
    return f"{totp.token():0{device.digits}d}", left


def code_for_secret(secret: str, at: float | None = None) -> str:
    """The 6-digit code of a base32 secret (what an authenticator app shows)."""
    totp = TOTP(base64.b32decode(secret), 30, 0, 6, 0)
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"
