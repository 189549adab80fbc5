"""Template helpers of the dispute pages."""

from __future__ import annotations

from typing import Any

from django import template

from jingwang.accounts.roles import has_perm

register = template.Library()


@register.filter
def may(user: Any, perm: str) -> bool:
    """``{% if user|may:"disputes.record" %}``: the user's role holds the permission (pages
    that other apps render, such as an incident's, show the dispute links with it)."""
    return has_perm(user, perm)
