"""The working-day calendar pages of the system admin (``jingwang.core.workdays``): every year
and where its holidays come from, and the page of one year, where a year the ``chinese-calendar``
package does not know is entered, or a package year corrected.

A package year is shown as the package has it; saving its page (changed) copies it into the
table, which from then on replaces the package for that year.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from jingwang.accounts.roles import Perm
from jingwang.accounts.scope import require
from jingwang.core import workdays
from jingwang.core.params import int_param

EXTRA_ROWS = 3  # empty rows below a year's holidays
MIN_ROWS = 10  # a year has seven or eight holidays
MAX_ROWS = 40


def _dates(text: str) -> tuple[list[date], list[str]]:
    """Dates written YYYY-MM-DD, separated by spaces, commas or 、; and the bits that are not."""
    found: list[date] = []
    bad: list[str] = []
    for bit in text.replace("，", " ").replace("、", " ").replace(",", " ").split():
        try:
            found.append(date.fromisoformat(bit.replace("/", "-")))
        except ValueError:
            bad.append(bit)
    return found, bad


class YearForm(forms.Form):
    """A year's holidays, a row each: name, first day, last day, make-up working days."""

    def __init__(self, *args: Any, year: int, rows: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.year = year
        self.row_numbers = list(range(1, rows + 1))
        day = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        for n in self.row_numbers:
            parts = {
                f"name_{n}": forms.CharField(
                    label=_("Holiday %(n)s · name") % {"n": n}, max_length=32, required=False
                ),
                f"first_{n}": forms.DateField(
                    label=_("Holiday %(n)s · first day") % {"n": n}, required=False, widget=day
                ),
                f"last_{n}": forms.DateField(
                    label=_("Holiday %(n)s · last day") % {"n": n}, required=False, widget=day
                ),
                f"makeup_{n}": forms.CharField(
                    label=_("Holiday %(n)s · make-up working days") % {"n": n},
                    max_length=200,
                    required=False,
                ),
            }
            for name, field in parts.items():
                field.widget.attrs["aria-label"] = str(field.label)
                self.fields[name] = field
        self.rows: list[workdays.HolidayRow] = []

    def table(self) -> list[tuple[int, list[forms.BoundField]]]:
        """The fields by row, for the page's table."""
        return [
            (n, [self[f"{part}_{n}"] for part in ("name", "first", "last", "makeup")])
            for n in self.row_numbers
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        rows = []
        for n in self.row_numbers:
            makeup, bad = _dates(cleaned.get(f"makeup_{n}") or "")
            for bit in bad:
                self.add_error(
                    f"makeup_{n}",
                    _("“%(text)s” is not a date: write it as %(example)s.")
                    % {"text": bit, "example": f"{self.year}-02-20"},
                )
            rows.append(
                workdays.HolidayRow(
                    n,
                    (cleaned.get(f"name_{n}") or "").strip(),
                    cleaned.get(f"first_{n}"),
                    cleaned.get(f"last_{n}"),
                    makeup,
                )
            )
        # Every problem at once; a day its own field refused (not a date) is not also reported
        # missing. The make-up days that are dates are checked beside those that are not.
        refused = {name for name in self.errors if not name.startswith("makeup_")}
        for problem in workdays.check_year(self.year, rows):
            if problem.field is None or problem.field not in refused:
                self.add_error(problem.field, problem.message)
        self.rows = rows
        return cleaned

    def problems(self) -> list[tuple[str, str]]:
        """Every error with the label of its field, for the summary above the table."""
        found = [("", str(error)) for error in self.non_field_errors()]
        for name, errors in self.errors.items():
            if name in self.fields:
                found += [(str(self.fields[name].label), str(error)) for error in errors]
        return found


def initial_of(rows: list[workdays.HolidayRow]) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    for row in rows:
        n = row.number
        initial |= {f"name_{n}": row.name, f"first_{n}": row.first, f"last_{n}": row.last}
        initial[f"makeup_{n}"] = " ".join(day.isoformat() for day in row.makeup)
    return initial


def calendar_view(request: HttpRequest) -> HttpResponse:
    """Every year: the package's, the table's, and the next ones that nobody has entered yet."""
    require(request.user, Perm.SYSTEM_CONFIGURE)
    wanted = int_param(request.GET, "year", minimum=workdays.FIRST_YEAR, maximum=workdays.LAST_YEAR)
    if wanted is not None:
        return redirect("config:calendar_year", wanted)
    calendar = workdays.current_calendar()
    package = workdays.package_calendar()
    entered = {row.year: row for row in workdays.entered_years()}
    this_year = timezone.localdate().year
    years = sorted(
        set(package.known_years) | set(entered) | {this_year, this_year + 1}, reverse=True
    )
    listing = []
    for year in years:
        holidays = sum(1 for day in calendar.holidays if day.year == year)
        makeup = sum(1 for day in calendar.makeup if day.year == year)
        listing.append(
            {
                "year": year,
                "known": calendar.knows(year),
                "entered": entered.get(year),
                "package": package.knows(year),
                "holidays": holidays,
                "makeup": makeup,
            }
        )
    missing = [year for year in (this_year, this_year + 1) if not calendar.knows(year)]
    context = {"years": listing, "missing": missing, "package_last": max(package.known_years)}
    return render(request, "core/calendar.html", context)


def year_view(request: HttpRequest, year: int) -> HttpResponse:
    """One year's holidays and make-up days; entering or correcting them (POST)."""
    require(request.user, Perm.SYSTEM_CONFIGURE)
    if not workdays.FIRST_YEAR <= year <= workdays.LAST_YEAR:
        raise Http404()
    entered = workdays.entered_years().filter(year=year).first()
    version = entered.version if entered is not None else 0
    current = workdays.rows_of(year)
    count = min(max(MIN_ROWS, len(current) + EXTRA_ROWS), MAX_ROWS)
    if request.method == "POST":
        # Required: a form without the version it was opened at cannot skip the stale check.
        version = int_param(request.POST, "version", required=True) or 0
        count = int_param(request.POST, "rows", minimum=1, maximum=MAX_ROWS, required=True) or 1
        form = YearForm(request.POST, year=year, rows=count)
        if form.is_valid():
            try:
                saved = workdays.save_year(request.user, year, form.rows, version)
            except workdays.InvalidYear as error:
                for problem in error.problems:
                    form.add_error(problem.field, problem.message)
            except workdays.StaleYear as error:
                form.add_error(None, str(error))
            else:
                if saved is None or (entered is not None and saved.version == entered.version):
                    messages.info(request, _("Nothing changed in %(year)s.") % {"year": year})
                else:
                    messages.success(
                        request,
                        _("The holidays of %(year)s were saved: deadlines now count them.")
                        % {"year": year},
                    )
                return redirect("config:calendar")
    else:
        form = YearForm(initial=initial_of(current), year=year, rows=count)
    context = {
        "year": year,
        "form": form,
        "version": version,
        "rows": count,
        "entered": entered,
        "package": workdays.package_calendar().knows(year),
        "known": workdays.is_known(year),
    }
    return render(request, "core/calendar_year.html", context)
