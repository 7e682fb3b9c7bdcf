"""Two short storylines for ``yuqing demo`` that show the 回应效果 verdict (``ledger.effect``).

The demo's sources span only the last 24 hours, shorter than the 72-hour windows the verdict
compares, so every case the demo answers now is 尚早. These two stories are placed days back: a
few posts about one event, a case answered by the unit, then what people posted afterwards —
one event calms down (平息), the other heats up (升温). The posts go through the real classifier
(topic, sentiment, risk, region); only their event is fixed (``ev-demo-…``), since each story is
one event by construction. They are marked as the source ``demo-story`` (演示·回应跟踪).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ledger.effect import case_effect
from ledger.errors import InvalidInput
from ledger.intake import case_from_post
from ledger.schemas import CaseAction
from ledger.service import LedgerService
from ledger.states import Actor
from yuqing.events import PostClassified, PostCollected, Source
from yuqing.runtime import Runtime

SOURCE = Source(id="demo-story", kind="replay", name="演示·回应跟踪")


@dataclass(frozen=True)
class Story:
    key: str
    unit: str
    response: str
    reply_hours_ago: float
    posts: tuple[tuple[float, str, str], ...]  # (hours relative to the reply, title, content)


STORIES = (
    Story(
        key="calm",
        unit="县生态环境局",
        response="经现场核查，东门塘小区污水外溢系市政管网堵塞所致，已于当日完成疏通清淤，并安排每周巡查。",
        reply_hours_ago=96,
        posts=(
            (-60, "龙城镇东门塘小区污水外溢臭气熏天", "龙城镇东门塘小区门口污水外溢好几天了，臭气熏天，老人小孩都不敢出门。"),
            (-44, "东门塘小区污水横流没人管", "彭泽县龙城镇东门塘小区污水横流，反映多次没人管，希望尽快处理。"),
            (-30, "龙城镇东门塘污水问题还没解决", "龙城镇东门塘小区的污水还在往外冒，路面全是污水，蚊蝇滋生。"),
            (-20, "东门塘小区污水外溢影响出行", "小区门口的污水已经漫到马路上，电动车都没法走，强烈要求处理。"),
            (-9, "再次反映东门塘小区污水外溢", "龙城镇东门塘小区污水外溢问题再次反映，臭味很大，影响居民生活。"),
            (-3, "东门塘小区污水何时能处理", "东门塘小区污水问题拖了一周了，请相关部门给个说法。"),
            (20, "东门塘小区污水已疏通", "看到县里的答复了，东门塘小区门口的管道已经疏通，路面也冲洗干净了，感谢。"),
        ),
    ),
    Story(
        key="rise",
        unit="县人力资源和社会保障局",
        response="我局已约谈芙蓉墩镇某服装厂负责人，督促其于 10 个工作日内结清拖欠工资。",
        reply_hours_ago=84,
        posts=(
            (-30, "芙蓉墩镇某服装厂拖欠工人工资", "彭泽县芙蓉墩镇某服装厂拖欠我们三十多名工人三个月工资，老板一直推脱。"),
            (-12, "芙蓉墩镇服装厂欠薪求助", "芙蓉墩镇服装厂欠薪三个月，工人生活困难，希望人社部门帮忙讨薪。"),
            (6, "服装厂欠薪回复了但钱没到", "人社局回复说督促结清工资，可是到现在一分钱也没拿到，老板还是不接电话。"),
            (15, "芙蓉墩镇服装厂工人还是拿不到工资", "芙蓉墩镇服装厂拖欠工资的事，答复说十个工作日内结清，工人们不相信。"),
            (26, "定山镇的工友也被服装厂拖欠工资", "我们定山镇的几个工友也在这个服装厂做过，同样被拖欠工资，准备一起去讨薪。"),
            (38, "服装厂工人准备聚集讨薪", "芙蓉墩镇服装厂拖欠工资迟迟不给，几十名工人商量明天去厂门口讨说法。"),
            (50, "芙蓉墩镇服装厂欠薪越闹越大", "服装厂欠薪的事越闹越大，工人在厂门口拉横幅，老板失联。"),
        ),
    ),
)


def _posts(story: Story, reply_at: datetime, classify: Callable[[PostCollected], PostClassified]) -> list[PostClassified]:
    out = []
    for i, (hours, title, content) in enumerate(story.posts):
        at = reply_at + timedelta(hours=hours)
        collected = PostCollected(
            id=f"demo-story:{story.key}-{i + 1}", title=title, content=content, published_at=at, collected_at=at, source=SOURCE
        )
        out.append(classify(collected).model_copy(update={"event_id": f"ev-demo-{story.key}"}))
    return out


def _at(t: datetime) -> Callable[[], datetime]:
    return lambda: t


def seed_stories(
    svc: LedgerService,
    runtime: Runtime,
    monitor: Actor,
    unit_actor: Callable[[int], Actor | None],
    classify: Callable[[PostCollected], PostClassified],
) -> list[str]:
    """Write the stories' posts to the store (classified by ``classify``, the processors'
    classifier) and answer a case for each; lines for the demo summary."""
    from schemes.tagger import Tagger

    tagger = Tagger(runtime.settings.database.url)  # tagged like processed posts (监测方案), so a scheme's pages count them
    now = svc.clock()
    lines = []
    for story in STORIES:
        reply_at = now - timedelta(hours=story.reply_hours_ago)
        posts = tagger.tag(_posts(story, reply_at, classify))
        runtime.store.write(posts)
        unit = svc.unit_by_name(story.unit)
        actor = unit_actor(unit.id) if unit is not None else None
        if unit is None or actor is None:
            continue
        first = posts[0]
        opened = LedgerService(svc.db, svc.config, bus=svc.bus, clock=_at(first.published_at + timedelta(hours=1)))
        try:
            case = opened.create_case(monitor, case_from_post(first, svc.config, unit_id=unit.id))
        except InvalidInput:  # opened by an earlier run of the demo
            continue
        at_reply = LedgerService(svc.db, svc.config, bus=svc.bus, clock=_at(reply_at))
        case = at_reply.act(actor, case.id, CaseAction(action="accept", version=case.version))
        case = at_reply.act(actor, case.id, CaseAction(action="respond", version=case.version, response=story.response))
        effect = case_effect(case, runtime.store, now, svc.config.effect)
        if effect is not None:
            lines.append(f"{case.number} {effect.verdict}（{effect.figures_text()}）")
    runtime.store.refresh()
    tagger.close()
    return lines
