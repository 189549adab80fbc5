"""Request types for code behind a login: ``request.user`` is a real ``User`` there."""

from __future__ import annotations

from django.http import HttpRequest

from jingwang.accounts.models import User


class AuthedRequest(HttpRequest):
    """An ``HttpRequest`` whose user is logged in.

    Only a type: pages behind ``LoginRequiredMiddleware`` and API handlers behind the API's
    authentication annotate ``request: AuthedRequest``; nothing is constructed or checked here.
    """

    user: User
