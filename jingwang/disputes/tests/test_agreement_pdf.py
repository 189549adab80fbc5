"""The agreement's PDF (``disputes.agreement_pdf``): the usual Chinese layout, read back from the
file as a PDF reader extracts it, with ID numbers masked."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pymupdf
import pytest
from django.utils import timezone

from jingwang.core import choicelists
from jingwang.disputes.agreement_pdf import agreement_pdf, chinese_number
from jingwang.disputes.categories import CATEGORIES
from jingwang.disputes.models import Agreement, Body, Category, Dispute, Member, Party, Session
from jingwang.people.models import Person
from tests.cast import World

ID_NUMBER = "510722199001011236"
MASKED_ID = "510722********1236"
TZ = dt.timezone(dt.timedelta(hours=8))


def text_of(data: bytes) -> str:
    document = pymupdf.open(stream=data, filetype="pdf")
    return "".join(page.get_text() for page in document)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def make_agreement(
    world: World, *, track: str = "people", form: str = "written", copies: int = 3
) -> Agreement:
    choicelists.register(CATEGORIES)
    category = choicelists.find(Category, world.bureau.pk, "neighbours")
    assert category is not None
    dispute = Dispute.objects.create(
        station=world.station,
        number="TC-2026-0042",
        source=Dispute.Source.WALK_IN,
        category=category,
        facts="楼上住户家中水管漏水，渗到楼下。",
        amount=Decimal("3000"),
        people_involved=2,
        tier=2,
        track=track,
        registered_at=dt.datetime(2026, 4, 2, 9, 0, tzinfo=TZ),
    )
    applicant = Party(dispute=dispute, role="applicant", name="王大爷", order=1)
    applicant.id_number = ID_NUMBER
    applicant.phone = "13912345678"
    applicant.save()
    Party.objects.create(
        dispute=dispute,
        role="respondent",
        name="某某物业管理有限公司",
        kind="organisation",
        order=2,
    )
    body = Body.objects.create(station=world.station, tier=2, name="警民和谐工作队")
    lead = Member.objects.create(body=body, person=world.people["mediator"], role="mediator")
    deputy = Person.objects.create(station=world.station, name="刘代表", kind="deputy")
    member = Member.objects.create(body=body, person=deputy, role="deputy")
    dispute.lead = lead
    dispute.save(update_fields=["lead"])
    failed = Session.objects.create(
        dispute=dispute, tier=2, held_at=dt.datetime(2026, 4, 20, 9, 0, tzinfo=TZ), result="failed"
    )
    outsider = Person.objects.create(station=world.station, name="未到场", kind="deputy")
    failed.participants.add(Member.objects.create(body=body, person=outsider, role="deputy"))
    agreed = Session.objects.create(
        dispute=dispute, tier=2, held_at=dt.datetime(2026, 5, 4, 9, 0, tzinfo=TZ), result="agreed"
    )
    agreed.participants.add(lead, member)
    return Agreement.objects.create(
        dispute=dispute,
        number="TC-2026-0042-X1",
        form=form,
        facts="楼上漏水致楼下天花板受损，双方就维修费用发生争议。",
        terms="一、王大爷于五日内修复漏水水管。\n二、物业公司承担楼下维修费用二千元。",
        performance="当面支付现金，维修完成后由社区确认。",
        perform_by=dt.date(2026, 5, 31),
        signed_on=dt.date(2026, 5, 4),
        signatories=["王大爷", "某某物业管理有限公司"],
        copies=copies,
        created_at=timezone.now(),
    )


def test_a_written_peoples_agreement_in_the_usual_layout(world: World) -> None:
    agreement = make_agreement(world)

    text = text_of(agreement_pdf(agreement))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    whole = flat(text)

    # the title and the number
    assert lines[0] == "人民调解协议书"
    assert "编号：TC-2026-0042-X1" in whole
    # the parties with their role and kind; the ID number only masked
    assert "申请人：" in whole and "被申请人：" in whole
    assert flat(f"王大爷，自然人，身份证号码 {MASKED_ID}，联系电话 139****5678") in whole
    assert "某某物业管理有限公司，单位" in whole
    assert ID_NUMBER not in whole and "13912345678" not in whole
    # facts, terms, how and by when
    assert "纠纷主要事实、争议事项：楼上漏水致楼下天花板受损，双方就维修费用发生争议。" in whole
    assert "经调解，自愿达成如下协议：一、王大爷于五日内修复漏水水管。" in whole
    assert "二、物业公司承担楼下维修费用二千元。" in whole
    assert (
        "履行方式、时限：当面支付现金，维修完成后由社区确认。于2026年5月31日前履行完毕。" in whole
    )
    assert "本协议一式三份，当事人、调解组织各持一份。" in whole
    # a signature line for each party and each mediator of the agreeing session, lead first
    assert "当事人王大爷：" in whole and "当事人某某物业管理有限公司：" in whole
    assert whole.index("调解员钱调解：") < whole.index("调解员刘代表：")
    assert "未到场" not in whole  # took part only in the failed session
    # the body and the date, 年月日
    assert "潼川派出所警民和谐工作队（印章）" in whole
    assert whole.rstrip().endswith("2026年5月4日第1页共1页")


def test_the_police_track_and_an_oral_agreement_have_their_titles(world: World) -> None:
    agreement = make_agreement(world, track="police", copies=12)
    text = text_of(agreement_pdf(agreement))
    assert text.splitlines()[0].strip() == "治安调解协议书"
    assert "本协议一式十二份，当事人各执一份，公安机关留存一份。" in flat(text)

    agreement.form = Agreement.Form.ORAL
    agreement.copies = 0
    oral = text_of(agreement_pdf(agreement))
    assert oral.splitlines()[0].strip() == "口头协议记录"
    assert "本协议为口头协议" in flat(oral) and "一式" not in oral


@pytest.mark.parametrize(
    ("n", "written"), [(0, "零"), (2, "二"), (10, "十"), (13, "十三"), (20, "二十"), (45, "四十五")]
)
def test_counts_are_written_in_chinese(n: int, written: str) -> None:
    assert chinese_number(n) == written
