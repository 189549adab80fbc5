from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from jingwang.audit.context import client_ip, ip_of


class ClientAddressMiddleware:
    """Remember where the request comes from, for the audit events written while serving it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = client_ip.set(ip_of(request))
        try:
            return self.get_response(request)
        finally:
            client_ip.reset(token)
