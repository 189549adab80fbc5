"""Incidents, callbacks and rectifications made directly for the callback tests."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from jingwang.incidents.categories import categories_of
from jingwang.incidents.models import Callback, Category, Incident, Rectification
from tests.cast import World

PHONE = "13900001111"


def category(world: World, code: str = "public_order.noise", station: Any = None) -> Category:
    bureau_id = (station or world.station).bureau_id
    return categories_of(bureau_id, active=None).get(code=code)


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


_numbers = iter(range(1, 1_000_000))


def closed_incident(
    world: World,
    *,
    closed_on: date,
    grid: Any = "a",
    code: str = "public_order.noise",
    phone: str = PHONE,
    station: Any = None,
    hour: int = 10,
) -> Incident:
    station = station or world.station
    if grid == "a":
        grid = world.block_a
    incident = Incident(
        station=station,
        number=f"J{next(_numbers):06d}",
        received_at=at(closed_on, hour) - timedelta(hours=1),
        source=Incident.Source.CALL_110,
        category=category(world, code, station),
        summary="楼上装修噪声",
        caller_name="陈女士",
        status=Incident.Status.CLOSED,
        closed_at=at(closed_on, hour),
        grid=grid,
        result="已劝导",
    )
    incident.caller_phone = phone
    incident.save()
    return incident


def due_callback(world: World, *, due_on: date | None = None, **kwargs: Any) -> Callback:
    """A closed incident with its due callback (as the daily job would have made it)."""
    due_on = due_on or timezone.localdate()
    incident = closed_incident(world, closed_on=due_on - timedelta(days=1), **kwargs)
    officer_only = incident.category.officer_only or bool(
        incident.category.parent and incident.category.parent.officer_only
    )
    return Callback.objects.create(
        incident=incident, station=incident.station, due_on=due_on, officer_only=officer_only
    )


def open_rectification(world: World, **kwargs: Any) -> Rectification:
    callback = due_callback(world, **kwargs)
    callback.status = Callback.Status.DONE
    callback.speed, callback.attitude, callback.handling = "satisfied", "dissatisfied", "basically"
    callback.suggestions = "民警态度生硬"
    callback.save()
    return Rectification.objects.create(
        incident=callback.incident,
        callback=callback,
        station=callback.station,
        owner=world.users["chief"] if callback.station == world.station else None,
        due_on=timezone.localdate() + timedelta(days=7),
        caller_words=callback.suggestions,
    )


def add_user(world: World, name: str, role: str, grid: Any, assignment: str) -> Any:
    """Another member of station TC, assigned to ``grid`` (the cast's officer and auxiliary
    are assigned to the sector, above both blocks)."""
    from jingwang.accounts.models import User
    from jingwang.people.models import GridAssignment, Person

    user = User.objects.create(username=name, role=role, station=world.station, first_name=name)
    kind = "officer" if assignment == "community_officer" else "auxiliary"
    person = Person.objects.create(station=world.station, name=name, kind=kind, user=user)
    GridAssignment.objects.create(person=person, grid=grid, role=assignment)
    world.users[name] = user
    return user


def one_working_day_before(day: date) -> date:
    """The latest day from which ``day`` is one working day on (two attempts over two days)."""
    from jingwang.core import workdays

    before = day - timedelta(days=1)
    while workdays.working_days_between(before, day) < 1:
        before -= timedelta(days=1)
    return before


def rows_of(*models: Any) -> list[Any]:
    """Every row of these tables, to show that a refused write changed nothing."""
    return [list(model._default_manager.order_by("pk").values()) for model in models]
