"""The one gateway interface: where a text goes once its job delivers it.

``gateway()`` gives the backend the settings name (``JINGWANG_SMS_BACKEND``):

- ``outbox`` (the default): nothing leaves the machine; the text is "sent" at once and read on
  the outbox page (``/sms/``), which lists every message whatever the backend;
- ``http``: a JSON POST to the SMS platform's endpoint (``JINGWANG_SMS_URL``), the kind
  government SMS platforms offer, with the account, password, template id and signature.

A backend's ``send(phone, text, reference=...)`` returns a ``Result``; it never raises for what
the network or the platform does. ``transient`` failures (no answer in time, a connection
refused, a 5xx or 429) are retried with back-off by the caller; others fail the message.

The HTTP platform's contract (docs/architecture.md, "SMS"):

    POST <JINGWANG_SMS_URL>   Content-Type: application/json
    {"account": "...", "password": "...", "template_id": "...", "signature": "【三台公安】",
     "mobile": "13812345678", "content": "【三台公安】<text>", "params": ["<text>"],
     "reference": "<our id for this attempt: the platform may use it to drop a duplicate>"}
    → 200 {"code": 0, "message_id": "..."}    (also "msgId"/"msg_id"/"id"; code 0/"0"/"OK")
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

SUCCESS_CODES = {0, "0", "00000", "ok", "OK", "success", "SUCCESS"}
ID_KEYS = ("message_id", "messageId", "msgId", "msg_id", "msgid", "id", "sid")


@dataclass(frozen=True)
class Result:
    ok: bool
    gateway_id: str = ""
    transient: bool = False  # worth another attempt later
    timeout: bool = False
    error: str = ""  # what the gateway or the network said (kept, shortened, on the message)


class Gateway(Protocol):
    name: str

    def compose(self, text: str) -> str:
        """The text as the recipient reads it (with the signature)."""

    def send(self, phone: str, text: str, *, reference: str) -> Result:
        """Hand one text over; never raises for what the network or the platform does."""


def compose(text: str) -> str:
    signature = settings.SMS_SIGNATURE
    return f"{signature}{text}" if signature and not text.startswith(signature) else text


class OutboxGateway:
    """Keeps everything on the machine: the outbox page is where the texts are read."""

    name = "outbox"

    def compose(self, text: str) -> str:
        return compose(text)

    def send(self, phone: str, text: str, *, reference: str) -> Result:
        return Result(ok=True, gateway_id=f"outbox-{reference}")


class HttpGateway:
    """A government SMS platform's JSON endpoint (settings ``JINGWANG_SMS_*``)."""

    name = "http"

    def __init__(
        self,
        url: str,
        *,
        account: str = "",
        password: str = "",
        template: str = "",
        signature: str = "",
        timeout: float = 10,
    ) -> None:
        self.url, self.account, self.password = url, account, password
        self.template, self.signature, self.timeout = template, signature, timeout

    def compose(self, text: str) -> str:
        return compose(text)

    def send(self, phone: str, text: str, *, reference: str) -> Result:
        body = json.dumps(
            {
                "account": self.account,
                "password": self.password,
                "template_id": self.template,
                "signature": self.signature,
                "mobile": phone,
                "content": self.compose(text),
                "params": [text],
                "reference": reference,
            },
            ensure_ascii=False,
        ).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read(65536)
        except urllib.error.HTTPError as exc:
            # 5xx and 429: the platform is busy or broken, try again later; other 4xx: refused.
            transient = exc.code >= 500 or exc.code == 429
            return Result(ok=False, transient=transient, error=f"HTTP {exc.code}")
        except TimeoutError:
            return Result(ok=False, transient=True, timeout=True, error="timeout")
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                return Result(ok=False, transient=True, timeout=True, error="timeout")
            return Result(ok=False, transient=True, error=str(exc.reason)[:200])
        except (OSError, ValueError) as exc:  # a connection reset mid-answer, a bad URL
            return Result(ok=False, transient=True, error=str(exc)[:200])
        return self.read_answer(raw)

    @staticmethod
    def read_answer(raw: bytes) -> Result:
        try:
            answer: Any = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return Result(ok=False, error="the gateway's answer is not JSON")
        if not isinstance(answer, dict):
            return Result(ok=False, error="the gateway's answer is not a JSON object")
        code = answer.get("code", 0)
        found = next((answer[key] for key in ID_KEYS if answer.get(key) not in (None, "")), None)
        if isinstance(code, (dict, list)) or code not in SUCCESS_CODES:
            message = answer.get("message") or answer.get("msg") or answer.get("error") or ""
            return Result(ok=False, error=f"code {code}: {message}"[:200])
        if found is None or isinstance(found, (dict, list)):
            return Result(ok=False, error="the gateway's answer has no message id")
        return Result(ok=True, gateway_id=str(found)[:64])


def gateway() -> Gateway:
    """The backend the settings name (read at each call, so a test can change the settings)."""
    if settings.SMS_BACKEND == "http":
        return HttpGateway(
            settings.SMS_URL,
            account=settings.SMS_ACCOUNT,
            password=settings.SMS_PASSWORD,
            template=settings.SMS_TEMPLATE,
            signature=settings.SMS_SIGNATURE,
            timeout=settings.SMS_TIMEOUT,
        )
    return OutboxGateway()
