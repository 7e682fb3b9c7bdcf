"""A case from an alert (立案 on an alert's page): the alert's event, posts, topic and severity as
a ledger ``NewCase``. It lives in the web app, where the alerts and the ledger meet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alerts.store import Alert
from ledger.config import LedgerConfig
from ledger.intake import source_label
from ledger.schemas import NewCase
from ledger.urls import safe_urls
from yuqing.events import RISK_LEVELS, PostClassified


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
        f"{name} {at:%Y-%m-%d %H:%M}" for name, at in (("首次", alert.first_seen), ("最近", alert.last_seen)) if at is not None
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
