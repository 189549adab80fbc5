"""Response headers that every page and API answer carries (docs/deployment.md).

``SecurityHeadersMiddleware`` adds:

- a strict Content-Security-Policy: scripts, styles, fonts and connections only from this
  server, no inline script, no plugins, no framing, forms posting only here. The pages need
  nothing else: Leaflet sets its styles through the CSSOM (allowed), ``json_script`` data blocks
  are data, not script, and Swagger UI is served from the ninja package. Images may also be
  ``data:`` URIs (Swagger UI's icons) and, when ``MAP_TILE_URL`` names a tile server, come from
  that server's origin;
- ``Cache-Control: no-store, private`` on every answer that does not choose its own: pages and
  API answers carry personal data or sit behind a login, so no browser or proxy keeps a copy.
  Static files never reach this middleware (whitenoise answers them first, with its own
  public caching).

HSTS, the HTTPS redirect and the proxy header are Django's ``SecurityMiddleware``, configured
from the environment in settings.py.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control

CSP_HEADER = "Content-Security-Policy"


@lru_cache(maxsize=8)
def tile_origin(tile_url: str) -> str:
    """The origin of a Leaflet tile URL template, as a CSP source ('' when none is needed).

    ``http://{s}.tiles.local:8080/{z}/{x}/{y}.png`` → ``http://*.tiles.local:8080``; a relative
    URL (tiles served by this server) needs nothing beyond 'self'.
    """
    parts = urlsplit(tile_url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    host = parts.netloc.rsplit("@", 1)[-1].replace("{s}", "*")
    if any(char in host for char in "{} ;,'\""):
        return ""  # a template we cannot turn into a source: tiles stay blocked, pages still work
    return f"{parts.scheme}://{host}"


@lru_cache(maxsize=8)
def content_security_policy(tile_url: str = "") -> str:
    """The policy as sent; the tile server's origin joins img-src when tiles are configured."""
    images = ["'self'", "data:"]
    origin = tile_origin(tile_url)
    if origin:
        images.append(origin)
    directives = [
        ("default-src", ["'self'"]),
        ("script-src", ["'self'"]),
        ("style-src", ["'self'"]),
        ("img-src", images),
        ("font-src", ["'self'"]),
        ("connect-src", ["'self'"]),
        ("object-src", ["'none'"]),
        ("base-uri", ["'none'"]),
        ("form-action", ["'self'"]),
        ("frame-ancestors", ["'none'"]),
    ]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives)


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Cache-Control on every answer that is not a static file."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if CSP_HEADER not in response.headers:
            response.headers[CSP_HEADER] = content_security_policy(settings.MAP_TILE_URL)
        if "Cache-Control" not in response.headers:
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
        else:
            # A view chose its own caching (e.g. a map layer cached per grid version): it still
            # stays out of shared caches.
            patch_cache_control(response, private=True)
        return response
