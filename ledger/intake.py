"""Cases from what the pipeline found: a classified post (and its event), or an alert, becomes a NewCase."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alerts.model import ts_to_dt
from alerts.store import Alert
from ledger.config import LedgerConfig
from ledger.schemas import NewCase
from ledger.urls import safe_urls
from yuqing.events import RISK_LEVELS, PostClassified

# 12345 hotline 工单 types as the collectors keep them in ``raw``, mapped to the ledger's case types.
_HOTLINE_TYPES = {"咨询": "咨询", "求助": "求助", "建议": "建议", "投诉": "投诉", "举报": "举报"}


def source_label(post: PostClassified) -> str:
    """来源 as 台账 write it: the platform, not our collector's id."""
    name, kind = post.source.name, post.source.kind
    if kind == "hotline" or "12345" in name:
        return "12345"
    if "九江" in name:
        return "问政九江"
    if "问政" in name or "江西" in name:
        return "问政江西"
    if "留言板" in name:
        return "领导留言板"
    return name[:50] or "其他"


def case_type_of(post: PostClassified, config: LedgerConfig) -> str:
    for key in ("type", "工单类型", "诉求类型", "category"):
        value = post.raw.get(key)
        if isinstance(value, str):
            for word, case_type in _HOTLINE_TYPES.items():
                if word in value and case_type in config.deadlines:
                    return case_type
    return config.default_case_type


def case_from_post(post: PostClassified, config: LedgerConfig, *, unit_id: int | None = None) -> NewCase:
    summary = post.content.strip()
    if len(summary) > 500:
        summary = summary[:500] + "…"
    native = post.id.split(":", 1)[1] if ":" in post.id else post.id
    return NewCase(
        title=(post.title or post.content[:40] or post.id)[:300],
        summary=summary,
        source=source_label(post),
        source_ref=native[:100],
        case_type=case_type_of(post, config),
        topic=post.topic,
        risk_level=post.risk.level,
        region=post.region or "",
        event_id=post.event_id,
        post_ids=[post.id],
        post_urls=safe_urls([post.url]),
        petitioner=(post.author or "")[:64],
        unit_id=unit_id,
    )


def case_from_alert(
    alert: Alert, posts: Sequence[Mapping[str, Any]], config: LedgerConfig, *, top: PostClassified | None = None
) -> NewCase:
    """A case for an alert: the alert's event, posts, topic and severity; ``posts`` are its rows in
    ``alert_posts`` (riskiest first), ``top`` the first of them as the store keeps it, if it does.

    The type is the configured default (舆情): an alert is about public opinion on an event, not
    one ticket, and several people usually wrote in, so no 诉求人 is guessed either."""
    labels = alert.labels
    lines = [f"预警规则「{alert.rule}」：{alert.metric}。"]
    if alert.reasons:
        lines.append(f"风险依据：{'；'.join(alert.reasons)}。")
    span = "，".join(
        f"{name} {ts_to_dt(ts):%Y-%m-%d %H:%M}" for name, ts in (("首次", alert.first_seen), ("最近", alert.last_seen)) if ts is not None
    )
    lines.append(f"帖子共 {alert.post_count} 条（负面 {alert.negative_count} 条）{'，' + span if span else ''}。")
    if posts:
        lines.append(f"重点帖子：{'；'.join(str(p['title']) for p in posts[:3])}。")
    ids = [str(p["post_id"]) for p in posts][:200]
    native = ids[0].split(":", 1)[-1] if ids else ""
    return NewCase(
        title=(alert.title or alert.metric or alert.rule)[:300],
        summary="\n".join(lines)[:20000],
        source=source_label(top) if top is not None else "其他",
        source_ref=native[:100],
        case_type=config.default_case_type,
        topic=(labels.get("topic") or (top.topic if top is not None else "") or "其他")[:30],
        risk_level=alert.severity if alert.severity in RISK_LEVELS else "低",  # type: ignore[arg-type]
        # Region and event only from the alert's labels: an alert grouped by topic or source spans
        # many posts, and its riskiest post's region or event would claim too much.
        region=(labels.get("region") or "")[:50],
        event_id=labels.get("event_id") or None,
        alert_id=alert.id,
        post_ids=ids,
        post_urls=safe_urls([str(p["url"]) for p in posts if p.get("url")])[:200],
    )
