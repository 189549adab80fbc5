"""The REST API: one NinjaAPI under /api/v1/, a router per app."""

from __future__ import annotations

import logging
from functools import wraps
from typing import Annotated, Any

from django.contrib.auth.decorators import login_required
from django.db import connections, router
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, django_auth
from pydantic import AfterValidator

from jingwang.accounts.models import ApiToken, User

_TOKEN_FIELDS = [f for f in ApiToken._meta.concrete_fields]
_USER_FIELDS = [f for f in User._meta.concrete_fields]


def _token_with_user(digest: str) -> ApiToken | None:
    """The token of this digest with its user: ``select_related("user")`` as one plain
    statement. Every API request asks it, and building the ORM query cost more than running
    it (bench/intake.py); the values go through the same converters as the ORM's."""
    connection = connections[router.db_for_read(ApiToken)]
    quote = connection.ops.quote_name
    token, user = quote(ApiToken._meta.db_table), quote(User._meta.db_table)
    columns = [f"{token}.{quote(f.column)}" for f in _TOKEN_FIELDS]
    columns += [f"{user}.{quote(f.column)}" for f in _USER_FIELDS]
    user_id = ApiToken._meta.get_field("user").column
    sql = (
        f"SELECT {', '.join(columns)} FROM {token} INNER JOIN {user} "
        f"ON {user}.{quote(User._meta.pk.column)} = {token}.{quote(user_id)} "
        f"WHERE {token}.{quote('digest')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [digest])
        found = cursor.fetchone()
    if found is None:
        return None
    compiler = ApiToken.objects.all().query.get_compiler(connection=connection)
    fields = [*_TOKEN_FIELDS, *_USER_FIELDS]
    converters = compiler.get_converters([f.get_col(f.model._meta.db_table) for f in fields])
    values = next(iter(compiler.apply_converters([list(found)], converters)))
    split = len(_TOKEN_FIELDS)
    row = ApiToken.from_db(connection.alias, [f.attname for f in _TOKEN_FIELDS], values[:split])
    row.user = User.from_db(connection.alias, [f.attname for f in _USER_FIELDS], values[split:])
    return row


class TokenAuth(HttpBearer):
    """``Authorization: Bearer jw_…``: a per-user token; only its digest is stored.

    A token works until it expires or is revoked, and only under the password its user had
    when it was made (``ApiToken.password_stamp``). A refused token answers 401 saying why.
    """

    def __call__(self, request: HttpRequest) -> Any:
        user = super().__call__(request)
        refusal = getattr(request, "_jingwang_token_refusal", None)
        if user is None and refusal:
            raise HttpError(401, refusal)
        return user

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = _token_with_user(ApiToken.digest_of(token))
        now = timezone.now()
        refusal = None
        if row is None or not row.user.is_active:
            refusal = _("This API token is not valid.")
        elif row.revoked_at is not None:
            refusal = _("This API token was revoked.")
        elif row.expires_at <= now:
            refusal = _("This API token has expired: make a new one on your account page.")
        elif row.password_stamp != row.user.password_stamp() or row.user.password_is_temporary:
            refusal = _("This API token ended when its user's password changed.")
        if refusal is not None:
            request._jingwang_token_refusal = refusal  # type: ignore[attr-defined]
            return None
        assert row is not None
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


class ErrorItem(Schema):
    field: str = Field(description="the field or parameter at fault, empty for the request")
    message: str = Field(description="what is wrong, in the user's language")


class ErrorsOut(Schema):
    """Every error answer of the API has this shape."""

    errors: list[ErrorItem]


# The error answers any endpoint may give, for the schema: bad parameter (400), no login or
# token (401), refused before it ran (403: a session write without its CSRF token, a session
# whose password is temporary), not found or not yours (404), conflict with another change
# (409), invalid body or query (422), busy, try again (429), personal data under another key
# than the server's (503).
ERRORS: dict[int, Any] = {code: ErrorsOut for code in (400, 401, 403, 404, 409, 422, 429, 503)}

# A mobile number as the schemas state it for clients (spaces and hyphens anywhere, an optional
# +86; blank means none); ``core.personal.validated`` enforces it with a message.
PHONE_PATTERN = r"^[\s-]*(\+[\s-]*8[\s-]*6)?[\s-]*(1[\s-]*[3-9]([\s-]*[0-9]){9})?[\s-]*$"

# Read by ``idempotent()`` from the request itself, so documented here.
IDEMPOTENCY_KEY = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "description": "any string unique to this create: a retry with the same key and"
            " body gets the first answer, the same key with another body a 422",
            "schema": {"type": "string", "maxLength": 200},
        }
    ]
}


NO_NUL = r"^[^\x00]*$"


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(_("Text may not contain the NUL character (U+0000)."))
    return value


# Text a client sends, in a body or a parameter. PostgreSQL cannot store NUL (U+0000) and the
# pages refuse it too, so the API refuses it with a message and the schema says so. A field may
# state a narrower pattern (``Field(json_schema_extra={"pattern": ...})``) that excludes NUL too.
Text = Annotated[str, AfterValidator(no_nul), Field(json_schema_extra={"pattern": NO_NUL})]


class ApiError(HttpError):
    """An error answer naming the field at fault."""

    def __init__(self, status_code: int, message: str, field: str = "") -> None:
        super().__init__(status_code, message)
        self.field = field


def error(status_code: int, message: str, *, field: str = "") -> ApiError:
    return ApiError(status_code, message, field)


def _docs_login(view: Any) -> Any:
    """The schema and its browser: for a logged-in user or a valid API token."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not request.user.is_authenticated:
            header = request.headers.get("Authorization", "")
            scheme, _sep, key = header.partition(" ")
            user = (
                TokenAuth().authenticate(request, key.strip())
                if scheme.lower() == "bearer"
                else None
            )
            if user is None:
                return login_required(view)(request, *args, **kwargs)
        return view(request, *args, **kwargs)

    return wrapped


def _json_405(view: Any) -> Any:
    """Ninja answers a method an address does not take with a plain-text 405: answer it in
    the API's error shape, keeping the ``Allow`` header."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        response = view(request, *args, **kwargs)
        if response.status_code != 405 or response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return response
        allowed = response.get("Allow", "")
        message = _("This address does not take %(method)s requests, only %(allowed)s.") % {
            "method": request.method,
            "allowed": allowed,
        }
        answer = api.create_response(
            request, {"errors": [{"field": "", "message": message}]}, status=405
        )
        answer["Allow"] = allowed
        return answer

    return wrapped


class JsonNinjaAPI(NinjaAPI):
    """The NinjaAPI whose every answer, even to a method an address does not take, is JSON."""

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        for url in urls:
            if isinstance(url, URLPattern):
                url.callback = _json_405(url.callback)
        return urls


api = JsonNinjaAPI(
    title="jingwang API",
    version="1",
    urls_namespace="api",
    auth=[TokenAuth(), django_auth],
    docs_url="/docs",
    # The schema and its browser are pages like any other: only for logged-in users.
    docs_decorator=_docs_login,
    openapi_url="/openapi.json",
)


def _field(loc: list[Any]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "form", "payload")]
    return ".".join(parts) or "request"


def _message(err: dict[str, Any]) -> str:
    """A validator's own message (already in the user's language) without pydantic's prefix."""
    message = str(err.get("msg", ""))
    if err.get("type") == "value_error":
        return message.removeprefix("Value error, ")
    return message


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"field": _field(list(err.get("loc", []))), "message": _message(err)} for err in exc.errors
    ]
    return api.create_response(request, {"errors": errors}, status=422)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(
        request, {"errors": [{"field": "", "message": _("Not found.")}]}, status=404
    )


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {"errors": [{"field": "", "message": _("Log in or send an API token.")}]},
        status=401,
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    field = getattr(exc, "field", "")
    message = str(exc)
    # Ninja's own refusals, in the user's language.
    if message.startswith("Cannot parse request body"):
        message = _("The request body is not valid JSON.")
    elif message == "CSRF check Failed":
        message = _(
            "This change came without the page's CSRF token: reload the page and try again, "
            "or send an API token instead of the session."
        )
    return api.create_response(
        request, {"errors": [{"field": field, "message": message}]}, status=exc.status_code
    )


@api.exception_handler(Exception)
def other_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Known errors (a bad parameter, a busy database) get their answer; anything else is a
    logged 500 in the API's JSON shape, never an HTML page."""
    from jingwang.core.errors import answer

    known = answer(request, exc)
    if known is not None:
        return known
    logging.getLogger("jingwang").exception("API error on %s", request.path)
    return api.create_response(
        request,
        {
            "errors": [
                {
                    "field": "",
                    "message": _(
                        "Something went wrong on the server. The problem has been logged."
                    ),
                }
            ]
        },
        status=500,
    )


def _routers() -> None:
    from jingwang.disputes.api import router as disputes_router
    from jingwang.incidents.api import router as incidents_router
    from jingwang.people.api import router as people_router
    from jingwang.sms.api import router as sms_router
    from jingwang.territory.api import router as territory_router

    api.add_router("/territory/", territory_router)
    api.add_router("/people/", people_router)
    api.add_router("/incidents", incidents_router)
    api.add_router("/sms/", sms_router)
    api.add_router("/disputes", disputes_router)


_routers()
