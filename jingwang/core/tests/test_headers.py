"""Security headers (issue 6, item 8): CSP on every answer, no-store on every page and API
answer, HSTS over HTTPS, and Django's deploy check clean with the documented settings."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from jingwang.core.security import content_security_policy, tile_origin

ROOT = Path(__file__).resolve().parents[3]

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def directives(header: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in parsed, f"{name} given twice"
        parsed[name] = sources
    return parsed


def assert_never_cached(response) -> None:
    cache = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= cache, response["Cache-Control"]
    assert "public" not in cache


# --- Content-Security-Policy ------------------------------------------------------------------


def test_every_kind_of_answer_carries_the_strict_policy(world):
    chief = world.client("chief")
    person = world.people["officer"]
    answers = {
        "home": chief.get("/"),
        "person page": chief.get(f"/people/{person.id}/"),
        "API answer": chief.get("/api/v1/territory/grids"),
        "API docs": chief.get("/api/v1/docs"),
        "not found": chief.get("/people/999999/"),
        "login page": Client().get("/accounts/login/"),
        "redirect to login": Client().get("/people/"),
        "API refusal": Client().get("/api/v1/territory/grids"),
        "health": Client().get("/healthz"),
    }
    for name, response in answers.items():
        assert response["Content-Security-Policy"] == POLICY, name
        assert response["X-Frame-Options"] == "DENY", name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Referrer-Policy"] == "same-origin", name
    policy = directives(POLICY)
    for directive in ("script-src", "style-src", "default-src"):
        assert "'unsafe-inline'" not in policy[directive]
        assert "'unsafe-eval'" not in policy[directive]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]


def test_a_configured_tile_server_is_allowed_for_images_only(world, settings):
    settings.MAP_TILE_URL = "http://tiles.intranet:8080/{z}/{x}/{y}.png"
    policy = directives(world.client("chief").get("/territory/")["Content-Security-Policy"])
    assert policy["img-src"] == ["'self'", "data:", "http://tiles.intranet:8080"]
    assert policy["script-src"] == ["'self'"] and policy["connect-src"] == ["'self'"]


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("", ""),
        ("http://tiles.local/{z}/{x}/{y}.png", "http://tiles.local"),
        ("https://{s}.tiles.local:8443/t/{z}/{x}/{y}.png", "https://*.tiles.local:8443"),
        ("https://user:pw@tiles.local/{z}/{x}/{y}.png", "https://tiles.local"),
        ("/tiles/{z}/{x}/{y}.png", ""),  # served here: 'self' covers it
        ("http://tiles.local;script-src */{z}.png", ""),  # cannot smuggle a directive in
    ],
)
def test_tile_origin(url, origin):
    assert tile_origin(url) == origin
    assert content_security_policy(url).count("script-src") == 1


# --- Cache-Control ----------------------------------------------------------------------------


def test_personal_data_and_logged_in_answers_are_never_stored(world):
    chief = world.client("chief")
    person = world.people["officer"]
    unmasked = chief.post(f"/people/{person.id}/unmask/")
    assert unmasked.status_code == 200
    assert "13812345678" in unmasked.content.decode()  # the answer does carry the number
    api_person = chief.get(f"/api/v1/people/{person.id}")
    assert api_person.status_code == 200
    for response in (
        unmasked,
        api_person,
        chief.get(f"/people/{person.id}/"),
        chief.get("/people/"),
        chief.get(f"/people/{person.id}/edit/"),
        chief.get("/territory/"),
        chief.get("/api/v1/territory/grids"),
        Client().get("/accounts/login/"),
    ):
        assert_never_cached(response)


def test_static_files_keep_their_own_caching(client):
    response = client.get("/static/jingwang/site.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "max-age" in response["Cache-Control"]


# --- HTTPS ------------------------------------------------------------------------------------


def test_hsts_is_sent_over_https_only(world, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    assert "Strict-Transport-Security" not in world.client("chief").get("/")
    over_https = world.client("chief").get("/", secure=True)
    assert over_https["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_behind_a_proxy_its_header_means_https(world, settings):
    settings.SECURE_HSTS_SECONDS = 600
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    plain = world.client("chief").get("/people/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    proxied = world.client("chief").get("/people/", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200
    assert proxied["Strict-Transport-Security"].startswith("max-age=600")
    # A load balancer's plain-HTTP health check is not redirected.
    assert Client().get("/healthz").status_code == 200


# --- Django's deploy check with docs/deployment.md --------------------------------------------


def documented_environment() -> dict[str, str]:
    """The variables of the environment file in docs/deployment.md."""
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n# /etc/jingwang/env\n(.*?)```", text, re.S)
    assert block is not None, "docs/deployment.md shows no /etc/jingwang/env block"
    found = re.findall(r"^([A-Z_]+)=(\S*)$", block.group(1), re.M)
    assert len(found) >= 8
    return dict(found)


def deploy_check(tmp_path: Path, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``jingwang check --deploy`` in a clean process (settings are read at start-up), with a
    fresh key written at each documented key file's name."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not (name.startswith(("JINGWANG_", "DJANGO_")) or name in {"DEBUG", "SECRET_KEY"})
    }
    environment.update(variables)
    for name, value in variables.items():
        if name.endswith("_KEY_FILE"):
            key = secrets.token_urlsafe(50) if name == "SECRET_KEY_FILE" else secrets.token_hex(32)
            path = tmp_path / Path(value).name
            path.write_text(key, encoding="utf-8")
            environment[name] = str(path)
    (tmp_path / "var").mkdir()
    environment["JINGWANG_VAR_DIR"] = str(tmp_path / "var")
    command = [sys.executable, "-m", "jingwang.cli", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_the_documented_production_settings_pass_the_deploy_check(tmp_path):
    variables = documented_environment()
    assert "SECRET_KEY" not in variables and "SECRET_KEY_FILE" in variables  # keys from files
    result = deploy_check(tmp_path, variables)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deploy_check_names_what_a_bare_install_lacks(tmp_path):
    variables = documented_environment()
    for name in ("JINGWANG_HSTS_SECONDS", "JINGWANG_SSL_REDIRECT", "JINGWANG_SECURE_COOKIES"):
        variables.pop(name)
    result = deploy_check(tmp_path, variables)
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr


# --- Templates that the policy would break ----------------------------------------------------

INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I), "inline script"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<style\b", re.I), "style element"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_no_template_needs_what_the_policy_refuses():
    templates = sorted((ROOT / "jingwang").rglob("templates/**/*.html"))
    assert len(templates) > 10
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in templates
        for pattern, what in INLINE
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []
