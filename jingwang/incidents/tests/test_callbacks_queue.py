"""The daily job that queues the callbacks and sends the day's SMS surveys."""

from __future__ import annotations

import os
import re
import uuid
from datetime import date, datetime

import pytest
from django.core.management import call_command

from jingwang.audit.models import AuditEvent
from jingwang.core import jobs
from jingwang.incidents import actions_callbacks as actions
from jingwang.incidents import rules
from jingwang.incidents.models import Callback, StationCallbackSettings, SurveyLink
from jingwang.incidents.tasks import queue_callbacks_daily
from jingwang.incidents.tests.callback_helpers import PHONE, closed_incident
from jingwang.sms.models import Message

FRIDAY, MONDAY = date(2026, 3, 6), date(2026, 3, 9)
REDIS_URL = os.environ.get("JINGWANG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def sms_on(world, on=True):
    StationCallbackSettings.objects.update_or_create(
        station=world.station, defaults={"sms_survey": on}
    )


def test_a_closed_incident_gets_one_callback_due_the_next_working_day(world):
    incident = closed_incident(world, closed_on=FRIDAY)
    queued = actions.queue_callbacks(date(2026, 3, 7))  # Saturday morning's run
    assert queued.callbacks == 1
    callback = Callback.objects.get(incident=incident)
    assert (callback.due_on, callback.status, callback.officer_only) == (MONDAY, "due", False)
    event = AuditEvent.objects.get(action="open_callback")
    assert (event.subject_type, event.subject_id) == ("incidents.incident", str(incident.pk))


def test_running_twice_makes_no_duplicate(world):
    closed_incident(world, closed_on=FRIDAY)
    closed_incident(world, closed_on=FRIDAY)
    assert actions.queue_callbacks(MONDAY).callbacks == 2
    assert actions.queue_callbacks(MONDAY).callbacks == 0
    assert Callback.objects.count() == 2
    assert AuditEvent.objects.filter(action="open_callback").count() == 2


def test_around_national_day_and_its_make_up_saturday(world):
    eve = closed_incident(world, closed_on=date(2025, 9, 30))
    # 2025: Oct 1–8 off; Sat Sep 28 and Sat Oct 11 are make-up working days.
    friday = closed_incident(world, closed_on=date(2025, 10, 10))
    actions.queue_callbacks(date(2025, 10, 12))
    assert Callback.objects.get(incident=eve).due_on == date(2025, 10, 9)
    assert Callback.objects.get(incident=friday).due_on == date(2025, 10, 11)


def test_a_year_the_calendar_does_not_know_is_an_estimate_not_a_crash(world):
    incident = closed_incident(world, closed_on=date(2031, 1, 3))  # a Friday
    queued = actions.queue_callbacks(date(2031, 1, 4))
    assert queued.uncertain == 1
    assert Callback.objects.get(incident=incident).due_on == date(2031, 1, 6)


def test_only_reachable_closed_incidents_of_before_today(world):
    closed_incident(world, closed_on=FRIDAY, phone="")  # no phone: nobody to call
    closed_incident(world, closed_on=MONDAY)  # closed today: tomorrow's run
    open_one = closed_incident(world, closed_on=FRIDAY)
    open_one.status, open_one.closed_at = "arrived", None
    open_one.save()
    assert actions.queue_callbacks(MONDAY).callbacks == 0


def test_officer_only_by_category_or_by_the_station(world):
    violence = closed_incident(world, closed_on=FRIDAY, code="public_order.domestic_violence")
    noise = closed_incident(world, closed_on=FRIDAY, code="public_order.noise")
    fight = closed_incident(world, closed_on=FRIDAY, code="public_order.fight")
    settings = StationCallbackSettings.objects.create(station=world.station)
    settings.officer_only_categories.set([fight.category])
    actions.queue_callbacks(MONDAY)
    only = dict(Callback.objects.values_list("incident_id", "officer_only"))
    assert only == {violence.pk: True, noise.pk: False, fight.pk: True}


def test_surveys_go_out_for_the_stations_that_send_them_never_officer_only(
    world, django_capture_on_commit_callbacks
):
    sms_on(world)
    noise = closed_incident(world, closed_on=FRIDAY)
    closed_incident(world, closed_on=FRIDAY, code="criminal.sexual_assault")
    other = closed_incident(
        world, closed_on=FRIDAY, station=world.other_station, grid=world.other_block
    )
    with django_capture_on_commit_callbacks(execute=True):
        queued = actions.queue_callbacks(MONDAY)
    assert queued.callbacks == 3
    assert queued.surveys == [noise.callback.pk]
    link = SurveyLink.objects.get()
    assert link.message_id is not None
    message = Message.objects.get(pk=link.message_id)
    assert (
        message.purpose == "callback_survey"
        and message.ref == f"incidents.callback:{noise.callback.pk}"
    )
    assert message.phone == PHONE
    found = re.search(r"/s/([A-Za-z0-9_-]+)", message.text)
    assert found is not None
    token = found.group(1)
    assert link.token_hash == rules.token_hash(token) and token not in link.token_hash
    assert (link.expires_at - link.created_at).total_seconds() == 72 * 3600
    assert not SurveyLink.objects.filter(callback__incident=other).exists()
    # The job again: no second text.
    with django_capture_on_commit_callbacks(execute=True):
        actions.queue_callbacks(MONDAY)
    assert SurveyLink.objects.count() == 1 and Message.objects.count() == 1
    event = AuditEvent.objects.get(action="send_survey")
    assert event.subject_id == str(noise.pk)


def test_a_survey_waits_for_the_due_day(world, django_capture_on_commit_callbacks):
    sms_on(world)
    closed_incident(world, closed_on=FRIDAY)
    with django_capture_on_commit_callbacks(execute=True):
        actions.queue_callbacks(date(2026, 3, 7))  # Saturday: due Monday
    assert SurveyLink.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        actions.queue_callbacks(MONDAY)
    assert SurveyLink.objects.count() == 1


def test_the_command_runs_the_same_job(world, capsys):
    closed_incident(world, closed_on=FRIDAY)
    call_command("queue_callbacks", "--date", "2026-03-09")
    assert "1 callbacks queued" in capsys.readouterr().out
    call_command("queue_callbacks", "--date", "2026-03-09")
    assert Callback.objects.count() == 1


def test_the_job_runs_every_morning_at_ten_past_seven_beijing_time():
    def due(at):
        return [type(task) for task in jobs.HUEY.read_periodic(at)]

    # The scheduler counts in UTC: 07:10 in Beijing is 23:10 UTC the day before.
    assert queue_callbacks_daily.task_class in due(datetime(2026, 3, 8, 23, 10))
    assert queue_callbacks_daily.task_class not in due(datetime(2026, 3, 9, 7, 10))


def _redis_or_skip(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("JINGWANG_REQUIRE_TOOLS"):
            pytest.fail(f"Redis is required (JINGWANG_REQUIRE_TOOLS is set) but {url} answers not")
        pytest.skip(f"Redis is not running at {url}")


@pytest.fixture
def _flushable(transactional_db):
    """A transactional test ends by emptying every table; SQLite's audit guard refuses that."""
    from django.db import connection

    from jingwang.audit import triggers

    if connection.vendor == "sqlite":
        triggers.remove(connection)


def test_the_daily_job_runs_through_the_real_redis_queue_twice_without_duplicates(
    _flushable, world
):
    _redis_or_skip(REDIS_URL)
    from django.db import connection
    from huey import RedisHuey

    closed_incident(world, closed_on=date(2026, 3, 5))
    closed_incident(world, closed_on=date(2026, 3, 5))
    queue = RedisHuey(f"jingwang-test-{uuid.uuid4().hex}", url=REDIS_URL)

    @queue.task()
    def job() -> str:  # the job itself, on a queue in Redis (a result, so it can be awaited)
        queue_callbacks_daily.func()
        return "done"

    try:
        first, second = job(), job()  # delivered twice, as after a crash
        assert queue.pending_count() == 2
        # Both at once on PostgreSQL; one after the other on SQLite's shared in-memory test
        # database, whose table locks do not wait.
        workers = 2 if connection.vendor == "postgresql" else 1
        consumer = jobs.start_consumer(queue, workers=workers, periodic=False)
        try:
            assert first.get(blocking=True, timeout=30) == "done"
            assert second.get(blocking=True, timeout=30) == "done"
        finally:
            consumer.stop(graceful=True)
    finally:
        queue.storage.flush_all()
    assert Callback.objects.count() == 2
    assert AuditEvent.objects.filter(action="open_callback").count() == 2
