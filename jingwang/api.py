"""The REST API: one NinjaAPI under /api/v1/, a router per app."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, django_auth

from jingwang.accounts.models import ApiToken


class TokenAuth(HttpBearer):
    """``Authorization: Bearer jw_…``: a per-user token; only its digest is stored."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = (
            ApiToken.objects.select_related("user")
            .filter(digest=ApiToken.digest_of(token), revoked_at__isnull=True)
            .first()
        )
        if row is None or not row.user.is_active:
            return None
        now = timezone.now()
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


api = NinjaAPI(
    title="jingwang API",
    version="1",
    urls_namespace="api",
    auth=[TokenAuth(), django_auth],
    docs_url="/docs",
    # The schema and its browser are pages like any other: only for logged-in users.
    docs_decorator=login_required,
    openapi_url="/openapi.json",
)


def _field(loc: list[Any]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "form", "payload")]
    return ".".join(parts) or "request"


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"field": _field(list(err.get("loc", []))), "message": err.get("msg", "")}
        for err in exc.errors
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
    return api.create_response(
        request, {"errors": [{"field": "", "message": str(exc)}]}, status=exc.status_code
    )


def _routers() -> None:
    from jingwang.people.api import router as people_router
    from jingwang.territory.api import router as territory_router

    api.add_router("/territory/", territory_router)
    api.add_router("/people/", people_router)


_routers()
