"""Division on real-world data through the front door: the data warning and the suggested
snapping tolerance, refused units that block applying, re-division with what it keeps beside a
full re-division, the CLI, the settings, and who may do any of it."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from io import StringIO
from typing import Any

import numpy as np
import pytest
import shapely
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jingwang.audit.models import AuditEvent
from jingwang.core import config
from jingwang.incidents import actions as incidents
from jingwang.incidents.categories import categories_of
from jingwang.lib import division
from jingwang.people.models import GridAssignment
from jingwang.territory.actions import propose_division
from jingwang.territory.forms import DivisionSettingsForm
from jingwang.territory.models import BaseUnit, DivisionProposal, DivisionSettings, GridVersion
from jingwang.territory.tests.test_division import form_data as division_form
from tests.cast import World, make_units

# About a metre in degrees at latitude 31 (east-west, north-south).
METRE_LON, METRE_LAT = 1 / 95_400, 1 / 110_900


def form_data(seed: int = 0, **fields: Any) -> dict[str, Any]:
    # A short search keeps the tests quick; the figures stay valid.
    return division_form(seed, **{"search_seconds": 0.2, **fields})


def propose(client: Client, **fields: Any) -> Any:
    return client.post("/territory/divisions/?station=TC", form_data(**fields))


def english(world: World, role: str = "chief") -> Client:
    client = world.client(role)
    client.cookies["jingwang_language"] = "en"
    return client


def jitter(world: World, metres: float = 0.3, seed: int = 0) -> list[BaseUnit]:
    """TC's base units with every vertex of every polygon moved on its own by up to ``metres``:
    neighbours' borders no longer match exactly, as when units come from different systems."""
    rows = make_units(world)
    rng = np.random.default_rng(seed)
    for row in BaseUnit.objects.filter(station=world.station).order_by("code"):
        ring = np.asarray(row.geometry.exterior.coords)[:-1]
        ring[:, 0] += rng.uniform(-metres, metres, len(ring)) * METRE_LON
        ring[:, 1] += rng.uniform(-metres, metres, len(ring)) * METRE_LAT
        row.set_geometry(shapely.Polygon(ring))
        row.save()
    return rows


def page_of(client: Client, proposal: DivisionProposal) -> str:
    response = client.get(f"/territory/divisions/{proposal.id}/")
    assert response.status_code == 200
    return response.content.decode()


def hidden_fields(page: str, form_id: str) -> dict[str, str]:
    form = page.split(f'id="{form_id}"')[1].split("</form>")[0]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def latest() -> DivisionProposal:
    found = DivisionProposal.objects.order_by("-number").first()
    assert found is not None
    return found


# ---------------------------------------------------------------------------------------------
# Borders that do not match: the warning, the suggested tolerance, and running again with it.


def test_jittered_borders_warn_at_the_top_and_the_suggested_tolerance_recovers_the_plan(
    world: World,
) -> None:
    jitter(world)
    client = english(world)
    response = propose(client)
    assert response.status_code == 302
    broken = latest()
    report = broken.plan["data"]
    assert report["looks_broken"] and report["suggested_tolerance_m"]
    page = page_of(client, broken)
    # The warning comes before the measures, with the findings and the tolerance to use.
    assert page.index('id="data-warning"') < page.index('id="measures"')
    warning = page.split('id="data-warning"')[1].split("</section>")[0]
    assert report["findings"] and report["findings"][0]["message"] in warning
    assert f'data-tolerance="{report["suggested_tolerance_m"]}"' in warning
    rerun = hidden_fields(page, "rerun-form")
    assert float(rerun["snap_tolerance_m"]) == report["suggested_tolerance_m"]
    assert rerun["urban_households_max"] == "500" and rerun["mode"] == "fresh"

    # One click: the same policy with the tolerance. The warning goes, and the plan is what
    # exact borders give (blocks of 6 to 10 squares, all within range).
    again = client.post("/territory/divisions/?station=TC", rerun)
    assert again.status_code == 302
    fixed = latest()
    assert fixed.number == broken.number + 1
    assert fixed.plan["policy"]["snap_tolerance_m"] == report["suggested_tolerance_m"]
    assert not fixed.plan["data"]["looks_broken"]
    assert 'id="data-warning"' not in page_of(client, fixed)
    blocks = fixed.plan["measures"]["levels"]["block"]
    assert 7 <= blocks["count"] <= 12 and blocks["share_in_range"] == 1.0
    assert blocks["count"] < broken.plan["measures"]["levels"]["block"]["count"]


def test_the_warning_names_what_was_found_in_chinese_by_default(world: World) -> None:
    jitter(world)
    client = world.client("chief")
    assert propose(client).status_code == 302
    warning = page_of(client, latest()).split('id="data-warning"')[1].split("</section>")[0]
    assert "基础单元数据疑似有误" in warning
    assert "没有相邻单元的基础单元：边界互不相接" in warning
    assert "U0000" in warning and "have no neighbour" not in warning


def test_exact_borders_give_no_warning_and_the_violations_say_why(world: World, units) -> None:
    client = english(world)
    # Blocks of at most 100 households cannot hold a unit of 45-59 twice: violations follow.
    propose(client, urban_households_min=60, urban_households_target=80, urban_households_max=100)
    proposal = latest()
    page = page_of(client, proposal)
    assert 'id="data-warning"' not in page
    # The engine's search figures are kept, and the page says how many starts it tried.
    starts = proposal.plan["search"]["starts"]
    assert f"Search: {starts} starts tried" in page.split('id="search"')[1].split("</p>")[0]
    for violation in proposal.plan["violations"]:
        assert violation["cause"] in ("data", "search")
    if proposal.plan["violations"]:
        table = page.split('id="violations"')[1].split("</table>")[0]
        assert "The data force it" in table or "The search found no better" in table


def test_a_proposal_stored_before_these_figures_still_renders(world: World, units) -> None:
    client = english(world)
    propose(client)
    proposal = latest()
    old = {
        key: value
        for key, value in proposal.plan.items()
        if key not in ("data", "search", "kept", "mode", "fresh", "records_since")
    }
    old["violations"] = [
        {k: v for k, v in item.items() if k != "cause"} for item in old["violations"]
    ]
    old["notes"] = [{k: v for k, v in item.items() if k != "cause"} for item in old["notes"]]
    proposal.plan = old
    proposal.save(update_fields=["plan"])
    page = page_of(client, proposal)
    assert 'id="data-warning"' not in page and 'id="continuity"' not in page
    assert 'data-measure="count"' in page
    # and it can still be applied
    client.post(f"/territory/divisions/{proposal.id}/apply/", {"revision": proposal.revision})
    proposal.refresh_from_db()
    assert proposal.status == DivisionProposal.Status.APPLIED


# ---------------------------------------------------------------------------------------------
# A unit whose shape cannot be used: left out, named on the page, and the plan is not applied.


def bow_tie(world: World, code: str) -> None:
    """Unit ``code``'s shape drawn as a bow-tie over its box: a ring crossing itself, stored as
    another system exported it (the map's copy of the shape keeps the square)."""
    row = BaseUnit.objects.get(station=world.station, code=code)
    x0, y0, x1, y1 = row.geometry.bounds
    tie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    assert not tie.is_valid
    BaseUnit.objects.filter(pk=row.pk).update(geometry_wkt=shapely.to_wkt(tie))


def test_a_refused_unit_is_named_and_blocks_applying(world: World, units) -> None:
    bow_tie(world, "U0303")
    client = english(world)
    propose(client)
    proposal = latest()
    refused = dict(proposal.plan["data"]["refused"])
    repaired = proposal.plan["data"]["repaired"]
    if "U0303" in repaired:  # pragma: no cover - the checks chose to repair this shape
        pytest.skip("the input checks repair a bow-tie; no unit is refused")
    assert "U0303" in refused and "U0303" not in proposal.plan["clusters"]
    # Not reported as a unit without a grid: it is refused, with its reason.
    assert not any("U0303" in v["ids"] for v in proposal.plan["violations"])
    page = page_of(client, proposal)
    warning = page.split('id="data-warning"')[1].split("</section>")[0]
    assert 'data-unit="U0303"' in warning and refused["U0303"] in warning

    versions = GridVersion.objects.filter(station=world.station).count()
    response = client.post(
        f"/territory/divisions/{proposal.id}/apply/", {"revision": proposal.revision}, follow=True
    )
    text = response.content.decode()
    assert "cannot be applied" in text and "U0303" in text and "territory import" in text
    proposal.refresh_from_db()
    assert proposal.status == DivisionProposal.Status.PROPOSED
    assert GridVersion.objects.filter(station=world.station).count() == versions
    assert not AuditEvent.objects.filter(action="apply_grid_plan").exists()


# ---------------------------------------------------------------------------------------------
# Re-division: keep what works, show it beside a full re-division.


def incident(world: World, number: str, point: tuple[float, float]) -> Any:
    return incidents.record_incident(
        world.users["officer"],
        world.station,
        number=number,
        received_at=timezone.now() - timedelta(days=10),
        source="call_110",
        category=categories_of(world.bureau.id, active=None).get(code="public_order.noise"),
        lon=point[0],
        lat=point[1],
    )


def applied_grids(world: World, client: Client) -> GridVersion:
    """A fresh division applied: the station now works on grids made of its base units."""
    propose(client, seed=1)
    first = latest()
    client.post(f"/territory/divisions/{first.id}/apply/", {"revision": first.revision})
    return GridVersion.objects.get(station=world.station, is_current=True)


def test_a_redivision_keeps_most_and_shows_it_beside_a_full_redivision(world: World, units) -> None:
    client = english(world)
    version = applied_grids(world, client)
    # The grid worker works on the block of U0000; a noise complaint was made inside U0000.
    grid = (
        version.grids.filter(level="block", min_lon__lte=105.0005, min_lat__lte=31.0005)
        .order_by("code")
        .first()
    )
    assert grid is not None
    worker = world.people["grid_worker"]
    GridAssignment.objects.filter(person=worker).update(ended_at=timezone.localdate())
    GridAssignment.objects.create(person=worker, grid=grid, role="grid_worker")
    incident(world, "J1", (105.001, 31.001))
    # New households in the far east corner: its block goes above the maximum.
    BaseUnit.objects.filter(station=world.station, code__in=["U1105", "U1104"]).update(
        households=160
    )

    response = propose(client, seed=1, mode="redivide", keep_weight=2)
    assert response.status_code == 302
    proposal = latest()
    plan = proposal.plan
    assert plan["mode"] == "redivide" and plan["policy"]["keep_weight"] == 2
    kept, fresh = plan["kept"], plan["fresh"]
    assert kept["units"] == 72 and kept["units_kept"] >= 50
    assert kept["units_kept"] >= fresh["kept"]["units_kept"]
    assert fresh["violations"] >= 0 and "count" in fresh["measures"]
    # The west is untouched: the worker's block and the complaint keep their ground.
    assert "U0000" not in kept["moved"]
    assert kept["people"] >= 1 and kept["people_kept"] >= 1
    assert kept["records"] == 1 and kept["records_kept"] == 1

    page = page_of(client, proposal)
    assert 'data-mode="redivide"' in page
    panel = page.split('id="continuity"')[1].split("</table>")[0]
    assert "A full re-division" in panel
    units_row = panel.split('data-kept="units"')[1].split("</tr>")[0]
    assert f"{kept['units_kept']} / 72" in units_row
    assert f"{fresh['kept']['units_kept']} / 72" in units_row
    for key in ("households", "population", "blocks", "people", "records"):
        assert f'data-kept="{key}"' in panel
    assert "the last 12 months" in page
    event = AuditEvent.objects.filter(action="propose_division").order_by("-id").first()
    assert event is not None and json.loads(event.detail)["mode"] == "redivide"


def test_a_fresh_proposal_also_shows_what_it_keeps(world: World, units) -> None:
    client = english(world)
    applied_grids(world, client)
    propose(client, seed=2)
    proposal = latest()
    assert proposal.plan["mode"] == "fresh" and "fresh" not in proposal.plan
    assert proposal.plan["kept"]["units"] == 72
    page = page_of(client, proposal)
    panel = page.split('id="continuity"')[1].split("</table>")[0]
    assert 'data-kept="units"' in panel and "A full re-division" not in panel

    # A hand move keeps the checks and the search, and counts again what is kept.
    clusters = proposal.plan["clusters"]
    blocks = sorted({c.rsplit("-", 1)[0] for c in clusters.values()})
    unit = next(code for code, c in sorted(clusters.items()) if c.startswith(blocks[0]))
    client.post(
        f"/territory/divisions/{proposal.id}/move/",
        {"unit": unit, "block": blocks[-1], "revision": proposal.revision},
    )
    moved = DivisionProposal.objects.get(pk=proposal.pk)
    assert moved.revision == 2 and moved.plan["clusters"][unit].startswith(blocks[-1])
    assert moved.plan["mode"] == "fresh" and moved.plan["data"] == proposal.plan["data"]
    assert moved.plan["search"] == proposal.plan["search"]
    assert moved.plan["kept"]["units"] == 72 and "moved" in moved.plan["kept"]


def test_redivision_needs_current_grids_of_all_four_levels(world: World, units) -> None:
    GridVersion.objects.filter(station=world.station).update(is_current=False)
    client = english(world)
    page = client.get("/territory/divisions/?station=TC").content.decode()
    assert 'value="fresh"' in page and 'value="redivide"' not in page
    response = propose(client, mode="redivide")
    assert response.status_code == 200
    invalid = response.content.decode().split('class="field invalid"')[1].split('class="field')[0]
    assert 'name="mode"' in invalid and "no current grids with all four levels" in invalid
    assert not DivisionProposal.objects.exists()


@pytest.mark.parametrize("role", ["other_chief", "grid_worker", "security_admin", "auditor"])
def test_only_the_stations_chief_may_propose_a_redivision(world: World, units, role) -> None:
    before = AuditEvent.objects.filter(outcome="denied", actor_id=world.users[role].id).count()
    response = propose(world.client(role), mode="redivide", snap_tolerance_m=1)
    assert response.status_code == 404
    assert not DivisionProposal.objects.exists()
    assert not AuditEvent.objects.filter(action="propose_division").exists()
    assert (
        AuditEvent.objects.filter(outcome="denied", actor_id=world.users[role].id).count() > before
    )


def test_the_cli_prints_the_data_warning_first(world: World) -> None:
    jitter(world)
    out = StringIO()
    call_command("divide", "--station", "TC", "--seconds", "0.2", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("WARNING: the base units' data look broken")
    tolerance = DivisionProposal.objects.get().plan["data"]["suggested_tolerance_m"]
    assert any(f"suggested snapping tolerance: {tolerance} m" in line for line in lines)
    summary = next(i for i, line in enumerate(lines) if line.startswith("proposal 1 for TC"))
    assert summary > 0

    out = StringIO()
    call_command(
        "divide", "--station", "TC", "--seconds", "0.2", "--tolerance", str(tolerance), stdout=out
    )
    assert out.getvalue().startswith("proposal 2 for TC")
    assert DivisionProposal.objects.get(number=2).plan["policy"]["snap_tolerance_m"] == tolerance


def test_the_cli_redivides_and_prints_the_kept_figures_beside_a_fresh_plan(
    world: World, units
) -> None:
    applied_grids(world, english(world))
    out = StringIO()
    call_command("divide", "--station", "TC", "--redivide", "--seconds", "0.2", stdout=out)
    text = out.getvalue()
    proposal = latest()
    assert proposal.plan["mode"] == "redivide"
    assert re.search(rf"re-division {proposal.number} for TC: \d+ blocks", text)
    assert "kept of the current grids: this plan | a full re-division" in text
    kept, fresh = proposal.plan["kept"], proposal.plan["fresh"]["kept"]
    assert re.search(
        rf"base units: {kept['units_kept']}/72 \(\d+%\) \| {fresh['units_kept']}/72", text
    )
    with pytest.raises(CommandError, match="snap_tolerance_m: must lie within"):
        call_command("divide", "--station", "TC", "--tolerance", "80")


# ---------------------------------------------------------------------------------------------
# The bureau's defaults: the new fields, with the engine's checks.


def test_the_division_settings_hold_the_new_fields_and_refuse_what_the_engine_refuses(
    world: World,
) -> None:
    values = DivisionSettings().values()
    assert {"snap_tolerance_m", "search_seconds", "keep_weight", "max_moved_units"} <= set(values)
    data = {k: "" if v is None else str(v) for k, v in values.items()}
    form = DivisionSettingsForm({**data, "snap_tolerance_m": "60"})
    assert not form.is_valid() and "snap_tolerance_m" in form.errors
    # Left blank: the engine's defaults (no limit on moves).
    blank = {**data, "snap_tolerance_m": "", "search_seconds": "", "max_moved_units": ""}
    form = DivisionSettingsForm(blank)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["snap_tolerance_m"] == 0.0
    assert form.cleaned_data["max_moved_units"] is None
    saved = config.update_settings(
        world.users["system_admin"],
        "division",
        world.bureau,
        {**data, "snap_tolerance_m": "1.5", "max_moved_units": "8"},
        0,
    )
    assert saved.snap_tolerance_m == 1.5  # type: ignore[attr-defined]
    policy = config.settings_for(world.bureau, DivisionSettings).policy()
    assert policy.snap_tolerance_m == 1.5 and policy.max_moved_units == 8
    page = world.client("chief").get("/territory/divisions/?station=TC").content.decode()
    assert re.search(r'name="snap_tolerance_m" value="1.5"', page)


def test_what_is_kept_is_counted_in_queries_that_do_not_grow_with_people_or_records(
    world: World, units
) -> None:
    client = english(world)
    version = applied_grids(world, client)
    policy = division.Policy(sector_blocks=2, district_sectors=2, search_seconds=0.2)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            propose_division(world.users["chief"], world.station, policy, seed=1, mode="redivide")
        return len(captured)

    few = queries()
    blocks = list(version.grids.filter(level="block").order_by("code"))
    for i, person in enumerate(("officer", "auxiliary", "volunteer")):
        GridAssignment.objects.filter(person=world.people[person]).update(
            ended_at=timezone.localdate()
        )
        GridAssignment.objects.create(
            person=world.people[person], grid=blocks[i], role="community_officer"
        )
    for n in range(6):
        incident(world, f"Q{n}", (105.001 + 0.002 * n, 31.003))
    many = queries()
    assert many == few
    assert latest().plan["kept"]["records"] == 6 and latest().plan["kept"]["people"] == 3
