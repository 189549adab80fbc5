"""The division workflow through the front door: propose, compare, move a unit, apply."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import CommandError, call_command

from jingwang.audit.models import AuditEvent
from jingwang.people.models import GridAssignment, Person, Reassignment
from jingwang.territory.models import DivisionProposal, Grid, GridVersion


def form_data(seed=0, **fields):
    """The division form as the page sends it, with ``fields`` changed."""
    data = {
        "seed": seed,
        "urban_households_min": 300,
        "urban_households_target": 400,
        "urban_households_max": 500,
        "urban_population_max": 2500,
        "rural_households_min": 200,
        "rural_households_target": 300,
        "rural_households_max": 400,
        "complexity_alpha": 0.5,
        "sector_blocks": 2,
        "district_sectors": 2,
    }
    data.update(fields)
    return data


def propose(client, seed=0, **fields):
    return client.post("/territory/divisions/?station=TC", form_data(seed, **fields))


def test_chief_proposes_compares_and_applies_a_division(world, units):
    client = world.client("chief")
    response = propose(client)
    proposal = DivisionProposal.objects.get()
    assert (
        response.status_code == 302
        and response["Location"] == f"/territory/divisions/{proposal.id}/"
    )
    page = client.get(response["Location"]).content.decode()
    # Measures side by side: the cast's current grids (2 blocks, no base units inside in the
    # same way) and the proposal's blocks.
    assert (
        'data-measure="count"' in page
        and 'id="map-current"' in page
        and 'id="map-proposal"' in page
    )
    blocks = proposal.plan["measures"]["levels"]["block"]
    assert 7 <= blocks["count"] <= 12 and blocks["share_in_range"] == 1.0

    apply = client.post(
        f"/territory/divisions/{proposal.id}/apply/", {"revision": proposal.revision}
    )
    assert apply.status_code == 302 and apply["Location"] == "/people/coverage/?station=TC"
    version = GridVersion.objects.get(station=world.station, is_current=True)
    assert version.number == 2 and version.proposal == proposal
    # The old version stays readable.
    assert client.get(f"/territory/grids/{world.block_a.id}/").status_code == 200
    client.cookies["jingwang_language"] = "en"
    assert (
        "no longer current" in client.get(f"/territory/grids/{world.block_a.id}/").content.decode()
    )
    grids = Grid.objects.filter(version=version)
    assert {g.level for g in grids} == {"district", "sector", "block", "cluster"}
    assert sum(g.households for g in grids.filter(level="block")) == sum(
        u.households for u in units
    )
    assert all(
        g.parent is not None
        and g.parent.level == Grid.LEVEL_ORDER[Grid.LEVEL_ORDER.index(g.level) - 1]
        for g in grids.exclude(level="district")
    )
    # Blocks never cross a community boundary.
    for block in grids.filter(level="block"):
        assert block.community is not None
        assert block.community.code in {"C01", "C02"}
        assert block.geometry.within(block.community.geometry.buffer(1e-9))
    # The point index follows the new grids.
    located = client.get("/api/v1/territory/locate?lon=105.001&lat=31.001").json()
    assert located["grid"]["code"].startswith("TC-D") and located["grid"]["level"] == "cluster"
    event = AuditEvent.objects.get(action="apply_grid_plan")
    assert json.loads(event.detail)["version"] == 2


def test_people_follow_grids_that_keep_their_ground_and_the_rest_are_listed(world, units):
    client = world.client("chief")
    propose(client, seed=1)
    first = DivisionProposal.objects.get()
    client.post(f"/territory/divisions/{first.id}/apply/", {"revision": first.revision})
    v2 = GridVersion.objects.get(station=world.station, is_current=True)
    block = Grid.objects.filter(version=v2, level="block").order_by("code").first()
    assert block is not None
    worker = world.people["grid_worker"]
    GridAssignment.objects.filter(person=worker).update(ended_at="2026-01-01")
    GridAssignment.objects.create(person=worker, grid=block, role="grid_worker")
    Reassignment.objects.all().delete()

    # The same policy and seed give the same plan: every grid keeps its ground.
    propose(client, seed=1)
    same = DivisionProposal.objects.order_by("-number").first()
    assert same is not None
    client.post(f"/territory/divisions/{same.id}/apply/", {"revision": same.revision})
    v3 = GridVersion.objects.get(station=world.station, is_current=True)
    carried = GridAssignment.objects.get(person=worker, ended_at__isnull=True)
    assert carried.grid.version == v3 and carried.grid.code == block.code
    assert not Reassignment.objects.exists()

    # A different block size moves the ground: the worker is listed for review.
    propose(
        client,
        seed=1,
        urban_households_min=150,
        urban_households_target=200,
        urban_households_max=250,
    )
    smaller = DivisionProposal.objects.order_by("-number").first()
    assert smaller is not None
    client.post(f"/territory/divisions/{smaller.id}/apply/", {"revision": smaller.revision})
    item = Reassignment.objects.get(person=worker)
    assert item.old_grid == carried.grid
    assert item.suggested_grid is not None and item.suggested_grid.version.is_current
    assert not GridAssignment.objects.filter(person=worker, ended_at__isnull=True).exists()
    client.cookies["jingwang_language"] = "en"
    page = client.get("/people/coverage/?station=TC").content.decode()
    assert (
        "People who need a new grid" in page and worker.name in page.split('id="reassignments"')[1]
    )

    client.post(f"/people/reassignments/{item.id}/resolve/", {"assign": "suggested"})
    assert (
        GridAssignment.objects.get(person=worker, ended_at__isnull=True).grid == item.suggested_grid
    )
    assert 'id="reassignments"' not in client.get("/people/coverage/?station=TC").content.decode()


def test_moving_a_unit_updates_the_measures_and_reports_broken_contiguity(world, units):
    client = world.client("chief")
    propose(client)
    proposal = DivisionProposal.objects.get()
    clusters = proposal.plan["clusters"]
    blocks = sorted({c.rsplit("-", 1)[0] for c in clusters.values()})
    # A unit in the first block moved to the block farthest from it: the target becomes two pieces.
    unit = next(code for code, c in sorted(clusters.items()) if c.startswith(blocks[0]))
    target = blocks[-1]
    response = client.post(
        f"/territory/divisions/{proposal.id}/move/",
        {"unit": unit, "block": target, "revision": proposal.revision},
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.revision == 2
    assert proposal.plan["clusters"][unit].startswith(target)
    codes = {v["code"] for v in proposal.plan["violations"]}
    assert proposal.plan["measures"]["levels"]["block"]["contiguous"] is False
    assert codes  # the broken block is reported, not refused
    page = client.get(f"/territory/divisions/{proposal.id}/").content.decode()
    assert target in page.split('id="violations"')[1].split("</ul>")[0]
    # A stale form (the old revision) changes nothing.
    client.post(
        f"/territory/divisions/{proposal.id}/move/",
        {"unit": unit, "block": blocks[0], "revision": 1},
    )
    proposal.refresh_from_db()
    assert proposal.revision == 2 and proposal.plan["clusters"][unit].startswith(target)
    assert AuditEvent.objects.filter(action="move_base_unit").count() == 1


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"urban_households_max": 100}, "urban_households_max", "fewest"),
        ({"urban_households_target": 900}, "urban_households_target", "between"),
        ({"seed": -1}, "seed", "greater than or equal"),
        ({"sector_blocks": "many"}, "sector_blocks", "number"),
    ],
)
def test_a_bad_policy_names_the_field(world, units, fields, field, message):
    client = world.client("chief")
    client.post("/accounts/language/", {"language": "en"})
    page = propose(client, **fields).content.decode()
    assert (
        message in page.split('class="field invalid"')[1]
        and f'name="{field}"' in page.split('class="field invalid"')[1].split("</div>")[0]
    )
    assert not DivisionProposal.objects.exists()


def test_only_chiefs_of_the_station_divide(world, units):
    propose(world.client("chief"))
    proposal = DivisionProposal.objects.get()
    for role in (
        "officer",
        "auxiliary",
        "grid_worker",
        "auditor",
        "other_officer",
        "security_admin",
    ):
        client = world.client(role)
        assert client.get("/territory/divisions/?station=TC").status_code == 404
        assert client.get(f"/territory/divisions/{proposal.id}/").status_code == 404
        assert (
            client.post(f"/territory/divisions/{proposal.id}/apply/", {"revision": 1}).status_code
            == 404
        )
    assert GridVersion.objects.filter(station=world.station).count() == 1
    assert (
        world.client("bureau_admin").get(f"/territory/divisions/{proposal.id}/").status_code == 200
    )


def test_a_proposal_is_applied_once(world, units):
    client = world.client("chief")
    propose(client)
    proposal = DivisionProposal.objects.get()
    client.post(f"/territory/divisions/{proposal.id}/apply/", {"revision": 1})
    again = client.post(f"/territory/divisions/{proposal.id}/apply/", {"revision": 1})
    assert again.status_code == 302
    assert GridVersion.objects.filter(station=world.station).count() == 2


def test_the_cli_proposes_and_refuses_bad_input(world, units, tmp_path, capsys):
    call_command("divide", "--station", "TC", "--seed", "2")
    assert re.search(r"proposal 1 for TC: \d+ blocks", capsys.readouterr().out)
    policy = tmp_path / "policy.json"
    policy.write_text('{"urban_households_min": 600}')
    with pytest.raises(CommandError, match="urban_households_max: must be at least"):
        call_command("divide", "--station", "TC", "--policy", str(policy))
    policy.write_text("{nope")
    with pytest.raises(CommandError, match="not valid JSON: line 1"):
        call_command("divide", "--station", "TC", "--policy", str(policy))
    with pytest.raises(CommandError, match="no station with code QQ"):
        call_command("divide", "--station", "QQ")
    assert DivisionProposal.objects.count() == 1


def test_a_station_without_base_units_is_told_so(world):
    client = world.client("chief")
    client.post("/accounts/language/", {"language": "en"})
    page = propose(client).content.decode()
    assert "no base units with shapes" in page
    assert not Person.objects.filter(name="x").exists() and not DivisionProposal.objects.exists()
