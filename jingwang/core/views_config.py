"""The configuration pages of the system admin: every bureau × every section, and the edit page
of one bureau's section (``jingwang.core.config``)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import require
from jingwang.core import config
from jingwang.core.params import int_param
from jingwang.territory.queries import access_config_bureau, config_bureaus


def sections_view(request: HttpRequest) -> HttpResponse:
    """A table: a row per bureau, a column per section, each cell its state and edit link."""
    require(request.user, Perm.SYSTEM_CONFIGURE)
    bureaus = list(config_bureaus(request.user).order_by("code"))
    sections = config.sections()
    saved = {section.key: config.rows_for(section, bureaus) for section in sections}
    rows = [
        (bureau, [(section, saved[section.key].get(bureau.pk)) for section in sections])
        for bureau in bureaus
    ]
    return render(request, "core/config_list.html", {"sections": sections, "rows": rows})


def edit_view(request: HttpRequest, bureau_id: int, key: str) -> HttpResponse:
    """One bureau's settings of one section; saving them (POST)."""
    require(request.user, Perm.SYSTEM_CONFIGURE)
    posted = request.method == "POST"
    bureau = access_config_bureau(request.user, bureau_id, write=posted)
    section = config.find(key)
    if section is None:
        raise Http404()
    current = config.settings_for(bureau, section)
    version = current.version
    if posted:
        # Required: a form without the version it was opened at cannot skip the stale check.
        version = int_param(request.POST, "version", required=True) or 0
        try:
            config.update_settings(request.user, section, bureau, request.POST, version)
        except config.InvalidSettings as error:
            form = error.form
        except config.StaleSettings as error:
            form = section.form(request.POST)
            form.is_valid()
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("The settings “%(section)s” of %(bureau)s were saved.")
                % {"section": section.label, "bureau": bureau.name},
            )
            return redirect("config:sections")
    else:
        form = section.form(initial=current.values())
    context = {
        "bureau": bureau,
        "section": section,
        "current": current,
        "version": version,
        "form": form,
    }
    return render(request, "core/config_edit.html", context)
