"""Every change of the callback loop: queuing callbacks, surveys, attempts, answers,
rectifications and a station's callback settings. Each writes its audit event in the same
transaction, with the incident as the event's subject, so it shows on the incident's timeline.

The rules (when a callback is due, when it closes as unreachable, who may work it) are in
``rules.py``; the working days come from ``jingwang.core.workdays``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from jingwang.accounts import scope
from jingwang.audit.actions import record, record_many
from jingwang.core.jobs import enqueue_on_commit
from jingwang.incidents import rules
from jingwang.incidents.models import (
    Callback,
    CallbackAttempt,
    Category,
    Incident,
    IncidentSettings,
    Rating,
    Rectification,
    StationCallbackSettings,
    SurveyLink,
)


class StaleEdit(Exception):
    """Someone else saved this record since it was opened."""


class NotDue(Exception):
    """The callback was already answered or closed."""


class SurveyUnavailable(Exception):
    """A survey token that cannot be answered: ``reason`` is unknown, used, expired or
    answered (the callback was done by phone meanwhile)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RectificationIncomplete(Exception):
    """A rectification closes with its findings, the actions taken and the closing callback."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


class RectificationClosed(Exception):
    """The rectification is already closed."""


def incident_settings(bureau_id: int) -> IncidentSettings:
    """A bureau's settings of the incident loop (the defaults when never saved)."""
    found = IncidentSettings._default_manager.filter(bureau_id=bureau_id).first()
    return found if found is not None else IncidentSettings(bureau_id=bureau_id)


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _check_version(current: Any, version: int) -> None:
    if current.version != version:
        raise StaleEdit()


def _station_extra(station_ids: Iterable[int]) -> dict[int, set[int]]:
    """Each station's own officer-only categories (station id → category ids)."""
    through = StationCallbackSettings.officer_only_categories.through
    extra: dict[int, set[int]] = {}
    rows = through.objects.filter(stationcallbacksettings__station_id__in=list(station_ids))
    for station_id, category_id in rows.values_list(
        "stationcallbacksettings__station_id", "category_id"
    ):
        extra.setdefault(station_id, set()).add(category_id)
    return extra


def is_officer_only(category: Category, station_extra: set[int]) -> bool:
    parent = category.parent
    return rules.officer_only(
        category_id=category.pk,
        flagged=category.officer_only,
        parent_id=category.parent_id,
        parent_flagged=bool(parent and parent.officer_only),
        station_extra=station_extra,
    )


# ---------------------------------------------------------------------------------------------
# The daily job: queue the callbacks, send the surveys


@dataclass
class Queued:
    callbacks: int  # callbacks made by this run
    surveys: list[int]  # callbacks whose survey link is to be sent (enqueued on commit)
    uncertain: int  # of the callbacks made, those whose due date is an estimate


def queue_callbacks(today: date | None = None, *, actor: Any = None) -> Queued:
    """Give every closed incident whose caller can be reached, closed before ``today`` and
    without a callback, its callback, due ``callback_due_days`` working days after the day it
    closed; then list the due callbacks whose SMS survey is to go out (the station sends
    surveys, the category is not officer-only, none was sent yet).

    Idempotent: the one-to-one constraint decides, so two runs at once make one callback per
    incident. The surveys are enqueued on commit, 200 to a task (``tasks.send_surveys``).
    """
    from jingwang.core import workdays
    from jingwang.incidents.tasks import SURVEYS_PER_TASK, send_surveys

    today = today or timezone.localdate()
    made_at = timezone.now()
    with transaction.atomic():
        candidates = list(
            Incident.objects.filter(
                status=Incident.Status.CLOSED,
                closed_at__lt=_start_of(today),
                callback__isnull=True,
            )
            .exclude(caller_phone_encrypted="")
            .values_list(
                "id",
                "station_id",
                "station__bureau_id",
                "closed_at",
                "category_id",
                "category__officer_only",
                "category__parent_id",
                "category__parent__officer_only",
            )
        )
        extra = _station_extra({row[1] for row in candidates})
        days = {
            bureau_id: incident_settings(bureau_id).callback_due_days
            for bureau_id in {row[2] for row in candidates}
        }
        due_dates: dict[tuple[date, int], Any] = {}
        rows: list[Callback] = []
        uncertain = 0
        for (
            incident_id,
            station_id,
            bureau_id,
            closed_at,
            category_id,
            flagged,
            parent_id,
            parent_flagged,
        ) in candidates:
            key = (timezone.localdate(closed_at), days[bureau_id])
            if key not in due_dates:
                due_dates[key] = rules.callback_due(
                    key[0], days=key[1], add_working_days=workdays.add_working_days
                )
            due = due_dates[key]
            uncertain += bool(due.uncertain)
            rows.append(
                Callback(
                    incident_id=incident_id,
                    station_id=station_id,
                    due_on=due.on,
                    officer_only=rules.officer_only(
                        category_id=category_id,
                        flagged=flagged,
                        parent_id=parent_id,
                        parent_flagged=bool(parent_flagged),
                        station_extra=extra.get(station_id, set()),
                    ),
                    created_at=made_at,
                )
            )
        Callback.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        # What this run made (a concurrent run's rows carry its own time): for the audit.
        made: list[Callback] = []
        ids = [row.incident_id for row in rows]
        for start in range(0, len(ids), 5000):
            made += Callback.objects.filter(
                incident_id__in=ids[start : start + 5000], created_at=made_at
            ).only("id", "incident_id", "station_id", "due_on", "officer_only")
        record_many(
            actor,
            "open_callback",
            made,
            subject=lambda callback: Incident(pk=callback.incident_id),
            detail=lambda callback: {
                "due_on": callback.due_on.isoformat(),
                "officer_only": callback.officer_only,
            },
        )
        surveys = list(
            Callback.objects.filter(
                status=Callback.Status.DUE,
                due_on__lte=today,
                officer_only=False,
                station__callback_settings__sms_survey=True,
                survey_links__isnull=True,
            ).values_list("id", flat=True)
        )
        for start in range(0, len(surveys), SURVEYS_PER_TASK):
            enqueue_on_commit(send_surveys, surveys[start : start + SURVEYS_PER_TASK])
    return Queued(len(made), surveys, uncertain)


@dataclass
class SentSurvey:
    link: SurveyLink
    token: str  # only here and in the SMS: the database keeps its hash
    url: str
    message: Any  # the sms.Message


def survey_url(token: str) -> str:
    """The survey's address on the caller's phone (``JINGWANG_SMS_LINK_BASE`` + /s/<token>)."""
    from jingwang.sms.actions import link

    return link(reverse("survey", args=[token]))


def send_survey(callback_id: int, *, actor: Any = None) -> SentSurvey | None:
    """Send the caller the survey link of a due callback, once. None, sending nothing, when
    the callback is done, officer-only, of a station that does not send surveys, or already
    has a link (a job delivered twice)."""
    from jingwang.sms.actions import send

    with transaction.atomic():
        callback = (
            Callback.objects.select_for_update()
            .select_related("incident", "station", "station__bureau")
            .filter(pk=callback_id)
            .first()
        )
        if callback is None or callback.status != Callback.Status.DUE or callback.officer_only:
            return None
        station_settings = StationCallbackSettings.objects.filter(
            station_id=callback.station_id
        ).first()
        if station_settings is None or not station_settings.sms_survey:
            return None
        if callback.survey_links.exists():
            return None
        incident = callback.incident
        if not incident.reachable:
            return None
        hours = incident_settings(callback.station.bureau_id).survey_hours
        token = secrets.token_urlsafe(12)  # 96 random bits in 16 characters
        now = timezone.now()
        link = SurveyLink.objects.create(
            callback=callback,
            token_hash=rules.token_hash(token),
            created_at=now,
            expires_at=rules.survey_expires_at(now, hours),
        )
        url = survey_url(token)
        with translation.override(settings.LANGUAGE_CODE):
            text = _(
                "You called the police on %(date)s. Please tell us how it was handled "
                "(three questions): %(url)s The link works once, for %(hours)s hours."
            ) % {
                "date": timezone.localdate(incident.received_at).isoformat(),
                "url": url,
                "hours": hours,
            }
        message = send(
            station=callback.station,
            phone=incident.caller_phone.plaintext,
            text=text,
            purpose="callback_survey",
            ref=f"incidents.callback:{callback.pk}",
            urgent=False,
            actor=actor,
        )
        link.message_id = message.pk
        link.save(update_fields=["message_id"])
        record(
            actor,
            "send_survey",
            link,
            station_id=callback.station_id,
            subject=incident,
            detail={"callback": callback.pk, "sms": message.pk, "status": message.status},
        )
    return SentSurvey(link, token, url, message)


# ---------------------------------------------------------------------------------------------
# Working a callback


def _may_work(actor: Any, callback: Callback, mode: str = "write") -> None:
    if not rules.may_work(getattr(actor, "role", None), callback.officer_only):
        scope.deny(actor, "incidents.callback", callback.pk, mode=mode, officer_only=True)


def _locked(callback: Callback, version: int) -> Callback:
    current = Callback.objects.select_for_update().select_related("incident").get(pk=callback.pk)
    _check_version(current, version)
    if current.status != Callback.Status.DUE:
        raise NotDue()
    return current


def record_attempt(
    actor: Any, callback: Callback, *, outcome: str, note: str = "", version: int
) -> CallbackAttempt:
    """A call that did not get the answers. The callback closes as unreachable when its failed
    attempts reach the bureau's count over its span of working days (``rules``)."""
    from jingwang.core import workdays

    if outcome not in rules.FAILED_OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    _may_work(actor, callback)
    with transaction.atomic():
        current = _locked(callback, version)
        now = timezone.now()
        attempt = CallbackAttempt.objects.create(
            callback=current, at=now, by=actor, outcome=outcome, note=note[:200]
        )
        days = [timezone.localdate(at) for at in current.attempts.values_list("at", flat=True)]
        bureau_settings = incident_settings(current.incident.station.bureau_id)
        closes = rules.closes_unreachable(
            days,
            attempts=bureau_settings.callback_attempts,
            span_days=bureau_settings.callback_attempt_days,
            working_days_between=workdays.working_days_between,
        )
        current.failed_attempts = len(days)
        current.version += 1
        changed = ["failed_attempts", "version"]
        if closes:
            current.status = Callback.Status.UNREACHABLE
            current.done_at, current.done_by = now, actor
            changed += ["status", "done_at", "done_by"]
        current.save(update_fields=changed)
        record(
            actor,
            "callback_attempt",
            attempt,
            station_id=current.station_id,
            subject=current.incident,
            detail={"callback": current.pk, "outcome": outcome, "failed": len(days)},
        )
        if closes:
            record(
                actor,
                "callback_unreachable",
                current,
                subject=current.incident,
                detail={"failed": len(days)},
            )
    callback.status, callback.version = current.status, current.version
    callback.failed_attempts = current.failed_attempts
    return attempt


def _complete(
    actor: Any,
    current: Callback,
    *,
    speed: str,
    attitude: str,
    handling: str,
    suggestions: str,
    channel: str,
    actor_name: str | None = None,
) -> Rectification | None:
    """Write the answers of a locked, due callback; a 不满意 opens the rectification."""
    for rating in (speed, attitude, handling):
        if rating not in Rating.values:
            raise ValueError(f"unknown rating {rating!r}")
    now = timezone.now()
    current.speed, current.attitude, current.handling = speed, attitude, handling
    current.suggestions = suggestions[:2000]
    current.status, current.channel = Callback.Status.DONE, channel
    current.done_at = now
    current.done_by = actor if getattr(actor, "is_authenticated", False) else None
    current.version += 1
    current.save(
        update_fields=[
            "speed",
            "attitude",
            "handling",
            "suggestions",
            "status",
            "channel",
            "done_at",
            "done_by",
            "version",
        ]
    )
    ratings = {"speed": speed, "attitude": attitude, "handling": handling}
    detail = {**ratings, "channel": channel}
    if channel == Callback.Channel.PHONE:
        record(actor, "record_callback", current, subject=current.incident, detail=detail)
    else:
        record(
            actor,
            "answer_survey",
            current,
            subject=current.incident,
            actor_name=actor_name,
            detail=detail,
        )
    if not rules.dissatisfied(speed, attitude, handling):
        return None
    return _open_rectification(actor, current, ratings, actor_name=actor_name)


def _open_rectification(
    actor: Any, callback: Callback, ratings: dict[str, str], *, actor_name: str | None
) -> Rectification:
    from jingwang.accounts.models import User
    from jingwang.accounts.roles import Role
    from jingwang.core import workdays

    incident = callback.incident
    bureau_settings = incident_settings(incident.station.bureau_id)
    deadline = rules.rectification_due(
        timezone.localdate(),
        days=bureau_settings.rectification_days,
        add_working_days=workdays.add_working_days,
    )
    owner = (
        User.objects.filter(station_id=callback.station_id, role=Role.STATION_CHIEF, is_active=True)
        .order_by("id")
        .first()
    )
    rectification = Rectification.objects.create(
        incident=incident,
        callback=callback,
        station_id=callback.station_id,
        owner=owner,
        due_on=deadline.on,
        caller_words=callback.suggestions,
    )
    record(
        actor,
        "open_rectification",
        rectification,
        subject=incident,
        actor_name=actor_name,
        detail={
            "due_on": deadline.on.isoformat(),
            "uncertain": deadline.uncertain,
            "owner": owner.pk if owner else None,
            "dissatisfied": sorted(q for q, r in ratings.items() if r == Rating.DISSATISFIED),
        },
    )
    return rectification


def record_callback(
    actor: Any,
    callback: Callback,
    *,
    speed: str,
    attitude: str,
    handling: str,
    suggestions: str = "",
    version: int,
) -> Rectification | None:
    """The caller's answers by phone: speed, attitude and handling, each 满意 / 基本满意 /
    不满意, and their suggestions. Returns the rectification a 不满意 opened."""
    _may_work(actor, callback)
    with transaction.atomic():
        current = _locked(callback, version)
        rectification = _complete(
            actor,
            current,
            speed=speed,
            attitude=attitude,
            handling=handling,
            suggestions=suggestions,
            channel=Callback.Channel.PHONE,
        )
    callback.status, callback.version = current.status, current.version
    return rectification


# ---------------------------------------------------------------------------------------------
# The SMS survey (public: the caller has no account)


def survey_link(token: str) -> SurveyLink:
    """The survey link of a token, or SurveyUnavailable: unknown, used, expired, or answered."""
    link = (
        SurveyLink.objects.select_related(
            "callback", "callback__incident", "callback__incident__category__parent"
        )
        .filter(token_hash=rules.token_hash(token))
        .first()
    )
    if link is None:
        raise SurveyUnavailable("unknown")
    state = rules.survey_state(link.expires_at, link.used_at, timezone.now())
    if state != "open":
        raise SurveyUnavailable(state)
    if link.callback.status != Callback.Status.DUE:
        raise SurveyUnavailable("answered")
    return link


def answer_survey(
    token: str, *, speed: str, attitude: str, handling: str, suggestions: str = ""
) -> Callback:
    """The caller's answers through the survey link: once, before it expires, while the
    callback is due."""
    with transaction.atomic():
        found = survey_link(token)
        link = SurveyLink.objects.select_for_update().get(pk=found.pk)
        if link.used_at is not None:
            raise SurveyUnavailable("used")
        callback = (
            Callback.objects.select_for_update().select_related("incident").get(pk=link.callback_id)
        )
        if callback.status != Callback.Status.DUE:
            raise SurveyUnavailable("answered")
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
        _complete(
            None,
            callback,
            speed=speed,
            attitude=attitude,
            handling=handling,
            suggestions=suggestions,
            channel=Callback.Channel.SMS,
            actor_name="caller",
        )
    return callback


# ---------------------------------------------------------------------------------------------
# Rectifications


def update_rectification(
    actor: Any, rectification: Rectification, *, findings: str, actions_taken: str, version: int
) -> Rectification:
    with transaction.atomic():
        current = (
            Rectification.objects.select_for_update()
            .select_related("incident")
            .get(pk=rectification.pk)
        )
        _check_version(current, version)
        if current.status != Rectification.Status.OPEN:
            raise RectificationClosed()
        changed = [
            name
            for name, value in (("findings", findings), ("actions_taken", actions_taken))
            if getattr(current, name) != value
        ]
        if changed:
            current.findings, current.actions_taken = findings, actions_taken
            current.version += 1
            current.save(update_fields=[*changed, "version"])
            record(
                actor,
                "update_rectification",
                current,
                subject=current.incident,
                detail={"fields": changed},
            )
    return current


def close_rectification(
    actor: Any,
    rectification: Rectification,
    *,
    closing_rating: str,
    closing_note: str = "",
    version: int,
) -> Rectification:
    """Close with the closing callback's rating: the findings and the actions taken must be
    written first (RectificationIncomplete names what is missing)."""
    with transaction.atomic():
        current = (
            Rectification.objects.select_for_update()
            .select_related("incident")
            .get(pk=rectification.pk)
        )
        _check_version(current, version)
        if current.status != Rectification.Status.OPEN:
            raise RectificationClosed()
        missing = [
            name
            for name, value in (
                ("findings", current.findings),
                ("actions_taken", current.actions_taken),
                ("closing_rating", closing_rating),
            )
            if not value.strip()
        ]
        if missing:
            raise RectificationIncomplete(missing)
        if closing_rating not in Rating.values:
            raise ValueError(f"unknown rating {closing_rating!r}")
        current.closing_rating, current.closing_note = closing_rating, closing_note[:2000]
        current.status, current.closed_at = Rectification.Status.CLOSED, timezone.now()
        current.version += 1
        current.save(
            update_fields=["closing_rating", "closing_note", "status", "closed_at", "version"]
        )
        record(
            actor,
            "close_rectification",
            current,
            subject=current.incident,
            detail={"closing_rating": closing_rating},
        )
    return current


# ---------------------------------------------------------------------------------------------
# A station's own choices


def update_callback_settings(
    actor: Any,
    station: Any,
    *,
    sms_survey: bool,
    officer_only_categories: Iterable[Category],
    version: int,
) -> StationCallbackSettings:
    """The station chief's choices: SMS surveys on or off, further officer-only categories.
    ``version`` 0 means "never saved" (two first saves conflict too). The due callbacks of the
    station follow the new list at once."""
    chosen = {category.pk for category in officer_only_categories}
    with transaction.atomic():
        current = (
            StationCallbackSettings.objects.select_for_update().filter(station=station).first()
        )
        if current is None:
            if version != 0:
                raise StaleEdit()
            current = StationCallbackSettings.objects.create(station=station, version=0)
        else:
            _check_version(current, version)
        before = set(current.officer_only_categories.values_list("id", flat=True))
        detail: dict[str, Any] = {}
        if current.sms_survey != sms_survey:
            detail["sms_survey"] = {"from": current.sms_survey, "to": sms_survey}
            current.sms_survey = sms_survey
        if before != chosen:
            detail["officer_only_categories"] = {"from": sorted(before), "to": sorted(chosen)}
            current.officer_only_categories.set(chosen)
        if detail or current.version == 0:
            current.version += 1
            current.save(update_fields=["sms_survey", "version"])
            moved = _refresh_officer_only(station.pk, chosen) if before != chosen else 0
            detail["callbacks_changed"] = moved
            record(
                actor,
                "update_callback_settings",
                current,
                station_id=station.pk,
                detail=detail,
            )
    return current


def _refresh_officer_only(station_id: int, extra: set[int]) -> int:
    """Re-decide who may work the station's due callbacks after its list changed."""
    changed = 0
    due = Callback.objects.filter(station_id=station_id, status=Callback.Status.DUE).select_related(
        "incident__category__parent"
    )
    for flag in (True, False):
        ids = [
            callback.pk
            for callback in due
            if is_officer_only(callback.incident.category, extra) == flag
            and callback.officer_only != flag
        ]
        if ids:
            changed += Callback.objects.filter(pk__in=ids).update(officer_only=flag)
    return changed
