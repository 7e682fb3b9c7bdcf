"""研判建议: recommendations derived from the figures by fixed rules (pure; no I/O).

Each rule names the unit responsible, from ``ledger.topic_units`` (the work plan's topic ->
unit mapping that the ledger also uses to suggest a case's 交办单位).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from briefings.model import Briefing, Recommendation

OFFICE = "县政府办"  # coordinates the response work (彭府办字〔2023〕68号); 其他 goes there too
MAX_EVENTS = 3  # events named one by one; the table lists the rest
SHARE_RISE = 0.10  # a rise of the negative share by this much (10 percentage points) is worth a line


def recommend(b: Briefing, topic_units: Mapping[str, str], *, growth: float, min_negative: int) -> list[Recommendation]:
    office = topic_units.get("其他", OFFICE)
    out = [
        *_events(b, topic_units, office),
        *_topics(b, topic_units, office, growth, min_negative),
        *_regions(b, min_negative),
        *_share(b),
        *_alerts(b, office),
        *_ledger(b, office),
    ]
    if not out:
        out.append(Recommendation("各单位", "本期舆情总体平稳，未发现需重点关注的风险，建议各单位保持常态化监测，对群众诉求及时回应。"))
    return out


def _events(b: Briefing, units: Mapping[str, str], office: str) -> Iterator[Recommendation]:
    serious = [e for e in b.events if e.risk_level in ("重大", "高")][:MAX_EVENTS]
    for e in serious:
        unit = units.get(e.topic, office)
        where = f"，涉及{e.region.replace('/', '')}" if e.region else ""
        if e.risk_level == "重大":
            action = "立即核实情况、稳妥处置，及时发布权威信息，并将处置进展报县领导"
        else:
            action = "第一时间核实情况、回应关切，防止事态扩大"
        yield Recommendation(unit, f"“{e.title}”事件风险等级为{e.risk_level}（本期相关帖文{e.posts}条{where}），建议{unit}{action}。")


def _topics(b: Briefing, units: Mapping[str, str], office: str, growth: float, min_negative: int) -> Iterator[Recommendation]:
    """Topics whose negative posts grew by more than ``growth`` (with a baseline: the previous
    period had posts at all); and the topic most negative posts concern, if no growth named it."""
    named = set()
    if b.total.previous:
        for t in b.topics:
            neg = t.negative
            if t.topic == "其他" or neg.current < min_negative:
                continue
            r = neg.ratio
            if r is not None and r <= growth:
                continue
            unit = units.get(t.topic, office)
            trend = "上期无负面帖文" if r is None else f"较上期（{neg.previous}条）增长{r * 100:.1f}%"
            named.add(t.topic)
            yield Recommendation(
                unit,
                f"{t.topic}领域负面舆情明显上升（本期{neg.current}条，{trend}），建议{unit}密切关注，深入排查问题根源并及时回应群众关切。",
            )
    focus = [t for t in b.topics if t.topic != "其他" and t.negative.current >= min_negative]
    if not focus:
        return
    top = max(focus, key=lambda t: t.negative.current)
    if top.topic in named:
        return
    unit = units.get(top.topic, office)
    part = top.negative.current / b.negative.current if b.negative.current else 0.0
    yield Recommendation(
        unit,
        f"本期负面舆情在重点领域中主要集中于{top.topic}领域（{top.negative.current}条，占负面信息{part * 100:.1f}%），"
        f"建议{unit}重点关注，梳理共性诉求，研究解决办法。",
    )


def _regions(b: Briefing, min_negative: int) -> Iterator[Recommendation]:
    if not b.regions:
        return
    top = b.regions[0]
    if top.negative < min_negative or "/" not in top.path:
        return  # a county-level count names no township to act
    yield Recommendation(
        top.region, f"{top.region}本期负面帖文{top.negative}条，居各乡镇之首，建议{top.region}加强矛盾纠纷排查化解，主动回应群众诉求。"
    )


def _share(b: Briefing) -> Iterator[Recommendation]:
    cur, prev = b.negative_share, b.previous_negative_share
    if cur is None or prev is None or cur - prev < SHARE_RISE - 1e-9:  # 60% after 50% is a rise of 10 points, float error aside
        return
    yield Recommendation(
        "各责任单位",
        f"本期负面信息占比{cur * 100:.1f}%，较上期上升{(cur - prev) * 100:.1f}个百分点，建议各责任单位加强正面引导，对负面诉求做到件件有回应。",
    )


def _alerts(b: Briefing, office: str) -> Iterator[Recommendation]:
    a = b.alerts
    if a.available and a.still_open:
        yield Recommendation(
            office, f"本期触发预警{a.total}条，其中{a.still_open}条尚未解除，建议{office}逐条跟踪处置进展，处置完毕及时解除预警。"
        )


def _ledger(b: Briefing, office: str) -> Iterator[Recommendation]:
    lg = b.ledger
    if not lg.available:
        return
    if lg.overdue_cases:
        yield Recommendation(
            office, f"{lg.overdue_cases}件交办事项已超过规定回复时间仍未回复，建议{office}发函督办，督促承办单位尽快答复。"
        )
    if lg.overdue_commitments:
        units = "、".join(dict.fromkeys(i.unit for i in lg.overdue_items))
        more = "等" if lg.overdue_commitments > len(lg.overdue_items) else ""
        among = f"（涉及{units}{more}）" if units else ""
        yield Recommendation(
            office,
            f"{lg.overdue_commitments}项公开承诺已超过承诺时限仍未落实{among}，建议{office}督促责任单位限期落实并公开落实情况，维护政府公信力。",
        )
