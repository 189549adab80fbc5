"""Reads of texts and opt-outs, within the reader's scope; the opt-out lookup other apps use."""

from __future__ import annotations

import base64
import hmac
from typing import Any

from django.db.models import QuerySet
from django.utils.crypto import salted_hmac

from jingwang.accounts import scope
from jingwang.accounts.roles import Perm
from jingwang.sms.models import Message, OptOut


def opted_out(phone: str) -> bool:
    """Whether the number asked for no more texts (by reply, on the page, or through staff)."""
    return OptOut.objects.filter(phone_hash=OptOut.phone.hash(phone)).exists()


def messages_visible_to(user: Any) -> QuerySet[Message]:
    """Texts of the user's stations (``sms.view``)."""
    return scope.visible(user, Message.objects.all(), perm=Perm.SMS_VIEW)


def access_message(user: Any, message_id: Any, *, write: bool = False) -> Message:
    return scope.access(
        user,
        messages_visible_to(user).select_related("station"),
        message_id,
        write=write,
        write_perm=Perm.SMS_VIEW,
    )


def opt_outs_visible_to(user: Any) -> QuerySet[OptOut]:
    """Opt-outs recorded at the user's stations (answering their texts, or by their staff)."""
    return scope.visible(user, OptOut.objects.all(), perm=Perm.SMS_VIEW)


# ---------------------------------------------------------------------------------------------
# The opt-out link: a text's id and a MAC of it, so no one can opt out a number by guessing.

_SALT = "jingwang.sms.opt_out_link"


def _mac(message_id: int) -> str:
    digest = salted_hmac(_SALT, str(message_id), algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def opt_out_token(message: Message) -> str:
    """The token of the opt-out link of ``message`` (short: it goes into a text)."""
    return f"{message.pk}-{_mac(message.pk)}"


def message_of_token(token: str) -> Message | None:
    """The text an opt-out link names, or None for a token this server did not make."""
    number, _, mac = (token or "").partition("-")
    if not (number.isascii() and number.isdigit() and 0 < len(number) < 19 and mac):
        return None
    if not hmac.compare_digest(mac.encode(), _mac(int(number)).encode()):
        return None
    return Message.objects.filter(pk=int(number)).select_related("station").first()
