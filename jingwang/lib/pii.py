"""Personal data: validation (GB 11643), masking, AES-GCM encryption and keyed lookup hashes.

Django-free: the key comes from ``configure()``, called once by the Django app at start-up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import unicodedata
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_keys: dict[str, bytes] = {}

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
ID_PATTERN = re.compile(r"^[0-9]{17}[0-9X]$")
PHONE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")


def configure(master_key_hex: str) -> None:
    """Derive the encryption key and the lookup-hash key from one 32-byte master key."""
    master = bytes.fromhex(master_key_hex)
    if len(master) != 32:
        raise ValueError("the personal-data key must be 32 bytes (64 hex characters)")
    _keys["enc"] = hmac.new(master, b"jingwang/pii/encrypt", hashlib.sha256).digest()
    _keys["hash"] = hmac.new(master, b"jingwang/pii/lookup", hashlib.sha256).digest()


def _key(name: str) -> bytes:
    if name not in _keys:
        raise RuntimeError("jingwang.lib.pii.configure() has not been called")
    return _keys[name]


def normalise_id_number(value: str) -> str:
    """Full-width digits typed on a Chinese keyboard (１２３) become ASCII; x becomes X."""
    return unicodedata.normalize("NFKC", value).strip().upper()


def id_number_error(value: str) -> str | None:
    """Why ``value`` is not a valid 18-digit resident ID number (GB 11643-1999), or None."""
    value = normalise_id_number(value)
    if not ID_PATTERN.match(value):
        return "format"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "birth_date"
    total = sum(int(d) * w for d, w in zip(value[:17], ID_WEIGHTS, strict=True))
    if ID_CHECK[total % 11] != value[17]:
        return "check_digit"
    return None


def id_check_digit(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def normalise_phone(value: str) -> str:
    digits = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", value).strip())
    return digits[3:] if digits.startswith("+86") else digits


def phone_error(value: str) -> str | None:
    return None if PHONE_PATTERN.match(normalise_phone(value)) else "format"


def mask_id_number(value: str) -> str:
    """510722********1234: the area code and the last four stay visible."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def mask_phone(value: str) -> str:
    """138****5678."""
    return value[:3] + "****" + value[-4:] if len(value) >= 8 else "*" * len(value)


class WrongKey(Exception):
    """A ciphertext does not open: written under another key, or moved to another row/field."""


def encrypt(plaintext: str, context: bytes) -> str:
    """AES-GCM with ``context`` (the row and field it belongs to) as associated data: the
    ciphertext opens only under the same key and in the same place."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key("enc")).encrypt(nonce, plaintext.encode(), b"jingwang-pii-v2|" + context)
    return "v2:" + base64.b64encode(nonce + sealed).decode()


def decrypt(token: str, context: bytes) -> str:
    if not token:
        return ""
    version, _, body = token.partition(":")
    if version == "v1":
        return decrypt_v1(token)
    if version != "v2":
        raise WrongKey("unknown personal-data encryption version")
    raw = base64.b64decode(body)
    try:
        opened = AESGCM(_key("enc")).decrypt(raw[:12], raw[12:], b"jingwang-pii-v2|" + context)
    except InvalidTag as exc:
        raise WrongKey("the personal-data key or the row does not match") from exc
    return opened.decode()


def decrypt_v1(token: str) -> str:
    """Values written before ciphertexts were bound to their row (migrations re-encrypt them)."""
    raw = base64.b64decode(token.partition(":")[2])
    try:
        return AESGCM(_key("enc")).decrypt(raw[:12], raw[12:], b"jingwang-pii-v1").decode()
    except InvalidTag as exc:
        raise WrongKey("the personal-data key does not match") from exc


def lookup_hash(value: str, kind: str = "") -> str:
    """A keyed hash for exact lookup without decrypting every row (per kind of value)."""
    message = f"{kind}:{value}" if kind else value
    return hmac.new(_key("hash"), message.encode(), hashlib.sha256).hexdigest()


def fingerprint() -> str:
    """A short public fingerprint of the key, stored to notice a server started with another."""
    return hmac.new(_key("hash"), b"jingwang/pii/fingerprint", hashlib.sha256).hexdigest()[:16]


def mask_text(value: str) -> str:
    """An address or other text: the first third stays visible."""
    keep = max(1, len(value) // 3) if len(value) > 3 else 0
    return value[:keep] + "*" * (len(value) - keep)
