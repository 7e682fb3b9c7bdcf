"""Cases from what the pipeline found: a classified post (and its event) becomes a NewCase. A case
from an alert is made where both meet, in the web app (``web.alert_intake``)."""

from __future__ import annotations

from ledger.config import LedgerConfig
from ledger.schemas import NewCase
from ledger.urls import safe_urls
from yuqing.events import PostClassified

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
