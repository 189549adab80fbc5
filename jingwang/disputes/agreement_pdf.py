"""A mediation agreement as the Chinese PDF the parties sign (``jingwang.core.pdf``).

The usual layout of a 人民调解协议书 (or 治安调解协议书 on the police track, 口头协议记录 for an
oral agreement): title and number; the parties with their role, kind and ID number (masked, as
everywhere: the full number never leaves the database in a document); the facts and the issues;
the terms agreed; how and by when they are carried out; the copies; a line for each party's
signature and for each mediator (the lead and the members who took part in the agreeing
session); the mediation body and the date signed, 年月日.

The wording is the fixed wording of the Chinese legal form, so it is written in Chinese here and
not translated: the document is the same whichever language its reader's pages are in.
"""

from __future__ import annotations

import datetime as dt

from jingwang.core import pdf
from jingwang.disputes.models import Agreement, Body, Dispute, Member, Party, Session

TITLES: dict[str, str] = {
    Dispute.Track.PEOPLE: "人民调解协议书",
    Dispute.Track.POLICE: "治安调解协议书",
}
ORAL_TITLE = "口头协议记录"
ROLES: dict[str, str] = {
    Party.Role.APPLICANT: "申请人",
    Party.Role.RESPONDENT: "被申请人",
    Party.Role.THIRD_PARTY: "第三人",
}
KINDS: dict[str, str] = {Party.Kind.PERSON: "自然人", Party.Kind.ORGANISATION: "单位"}
# The bodies' names when a station has not named its own (disputes.actions.ensure_bodies).
BODIES = {1: "警民联调工作站", 2: "警民和谐工作队", 3: "矛盾纠纷调解室"}
DIGITS = "零一二三四五六七八九"


def chinese_date(day: dt.date) -> str:
    """2026-05-04 → "2026年5月4日"."""
    return f"{day.year}年{day.month}月{day.day}日"


def chinese_number(n: int) -> str:
    """A count as written in a Chinese document: 3 → 三, 12 → 十二, 20 → 二十."""
    if not 0 <= n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    if tens == 0:
        return DIGITS[ones]
    head = "" if tens == 1 else DIGITS[tens]
    return head + "十" + (DIGITS[ones] if ones else "")


def agreeing_session(agreement: Agreement) -> Session | None:
    """The session that reached the agreement: the last one with result "agreed" held by the
    day it was signed (the last agreed session at all when none was held by then)."""
    agreed = agreement.dispute.sessions.filter(result=Session.Result.AGREED).order_by(
        "-held_at", "-id"
    )
    signed = agreed.filter(held_at__date__lte=agreement.signed_on).first()
    return signed or agreed.first()


def mediators(agreement: Agreement, session: Session | None) -> list[str]:
    """The names of the mediators who sign: the lead, then the members of the agreeing
    session, each once."""
    members: list[Member] = []
    lead = agreement.dispute.lead
    if lead is not None:
        members.append(lead)
    if session is not None:
        members += list(session.participants.select_related("person").order_by("role", "id"))
    names: list[str] = []
    for member in members:
        if member.person.name not in names:
            names.append(member.person.name)
    return names


def body_name(dispute: Dispute, tier: int) -> str:
    """The station's body of the tier, by its full name (潼川派出所警民联调工作站)."""
    body = Body.objects.filter(station_id=dispute.station_id, tier=tier).first()
    name = body.name if body is not None else BODIES.get(tier, "")
    station = dispute.station.name
    return name if name.startswith(station) else f"{station}{name}"


def party_line(party: Party) -> str:
    """A party as the form lists them: name, kind, ID number masked, phone masked, guardian."""
    pieces = [party.name, KINDS.get(party.kind, "")]
    if party.id_number:
        pieces.append(f"身份证号码 {party.id_number.masked}")
    if party.phone:
        pieces.append(f"联系电话 {party.phone.masked}")
    if party.guardian_name:
        pieces.append(f"法定代理人（监护人）{party.guardian_name}")
    return "，".join(piece for piece in pieces if piece)


def agreement_pdf(agreement: Agreement) -> bytes:
    """The agreement as a PDF (see module)."""
    dispute = agreement.dispute
    oral = agreement.form == Agreement.Form.ORAL
    track = dispute.track or Dispute.Track.PEOPLE
    title = ORAL_TITLE if oral else TITLES.get(track, TITLES[Dispute.Track.PEOPLE])
    session = agreeing_session(agreement)
    tier = session.tier if session is not None else dispute.tier

    doc = pdf.Document(title=f"{title} {agreement.number}", created=agreement.created_at)
    doc.heading(title)
    doc.paragraph(f"编号：{agreement.number}", align="right", size=10.5)
    doc.paragraph("当事人", size=13, space_after=2)
    doc.fields(
        [
            (ROLES.get(party.role, party.get_role_display()), party_line(party))
            for party in dispute.parties.order_by("order", "id")
        ]
    )
    doc.spacer(0.3)
    doc.paragraph("纠纷主要事实、争议事项：", size=13)
    doc.paragraph(agreement.facts, indent=2)
    lead_in = "经调解，自愿达成如下协议：" if not oral else "经调解，当事人口头达成如下协议："
    doc.paragraph(lead_in, size=13)
    doc.paragraph(agreement.terms, indent=2)
    doc.paragraph("履行方式、时限：", size=13)
    doc.paragraph(
        f"{agreement.performance.strip()}\n于{chinese_date(agreement.perform_by)}前履行完毕。",
        indent=2,
    )
    if oral:
        doc.paragraph(
            "本协议为口头协议，由调解人员记录在案，经当事人确认。", indent=2, space_after=12
        )
    else:
        keeper = "公安机关留存一份" if track == Dispute.Track.POLICE else "调解组织各持一份"
        holders = "当事人各执一份，" if track == Dispute.Track.POLICE else "当事人、"
        doc.paragraph(
            f"本协议一式{chinese_number(agreement.copies)}份，{holders}{keeper}。"
            "本协议自当事人签名、调解员签名之日起生效。",
            indent=2,
            space_after=12,
        )
    doc.paragraph("当事人签名：", size=13)
    doc.signatures([f"当事人 {name}" for name in agreement.signatories])
    doc.paragraph("调解员签名：", size=13)
    doc.signatures([f"调解员 {name}" for name in mediators(agreement, session)] or ["调解员"])
    doc.spacer(1)
    doc.paragraph(f"{body_name(dispute, tier)}（印章）", align="right")
    doc.paragraph(chinese_date(agreement.signed_on), align="right")
    return doc.bytes()
