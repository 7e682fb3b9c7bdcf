"""The public disclosure: fulfilled and disclosed commitments, with personal data masked, as a
page, an RSS 2.0 feed and a JSON Feed 1.1. Nothing leaves through here unmasked."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

from ledger.masking import mask
from ledger.tables import Commitment
from ledger.urls import safe_url


@dataclass(frozen=True)
class PublicItem:
    id: str
    case_number: str
    title: str
    topic: str
    unit: str
    commitment: str
    fulfilment: str
    disclosure_channel: str
    disclosure_url: str
    fulfilled_at: datetime | None
    disclosed_at: datetime
    satisfaction: str


# Text fields of a PublicItem that are not masked: identifiers and the (http(s)-only) link.
NOT_MASKED = frozenset({"id", "case_number", "disclosure_url"})


def masked(item: PublicItem, names: Sequence[str] = ()) -> PublicItem:
    """``item`` with every text field but ``NOT_MASKED`` through ``ledger.masking.mask``: one function
    for everything the public page and the feeds show, so a field added later is masked too."""
    changes: dict[str, Any] = {
        f.name: mask(getattr(item, f.name), names)
        for f in fields(item)
        if f.name not in NOT_MASKED and isinstance(getattr(item, f.name), str)
    }
    changes["disclosure_url"] = safe_url(item.disclosure_url)
    return replace(item, **changes)


def public_items(commitments: Sequence[Commitment]) -> list[PublicItem]:
    out = []
    for m in commitments:
        case = m.case
        assert m.disclosed_at is not None
        item = PublicItem(
            id=f"{case.number}-{m.seq}",
            case_number=case.number or "",
            title=case.title,
            topic=case.topic,
            unit=m.unit.name,
            commitment=m.content,
            fulfilment=m.fulfilment,
            disclosure_channel=m.disclosure_channel,
            disclosure_url=m.disclosure_url,
            fulfilled_at=m.fulfilled_at,
            disclosed_at=m.disclosed_at,
            satisfaction=m.satisfaction,
        )
        out.append(masked(item, [case.petitioner]))
    return out


def rss(items: Sequence[PublicItem], base_url: str, *, title: str = "政务舆情回应承诺落实公开") -> str:
    link = base_url.rstrip("/") + "/public"
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>{escape(link)}</link>",
        "<description>已落实并公开的舆情回应承诺事项</description><language>zh-cn</language>",
    ]
    for it in items:
        body = f"承诺：{it.commitment}\n落实情况：{it.fulfilment}\n责任单位：{it.unit}"
        parts.append(
            "<item>"
            f"<title>{escape(f'{it.case_number} {it.title}')}</title>"
            f"<link>{escape(it.disclosure_url or link + '#' + it.id)}</link>"
            f'<guid isPermaLink="false">{escape(it.id)}</guid>'
            f"<category>{escape(it.topic)}</category>"
            f"<pubDate>{format_datetime(it.disclosed_at)}</pubDate>"
            f"<description>{escape(body)}</description>"
            "</item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts)


def json_feed(items: Sequence[PublicItem], base_url: str, *, title: str = "政务舆情回应承诺落实公开") -> str:
    base = base_url.rstrip("/")
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": f"{base}/public",
        "feed_url": f"{base}/public/feed.json",
        "language": "zh-CN",
        "items": [
            {
                "id": it.id,
                "url": it.disclosure_url or f"{base}/public#{it.id}",
                "title": f"{it.case_number} {it.title}",
                "content_text": f"承诺：{it.commitment}\n落实情况：{it.fulfilment}\n责任单位：{it.unit}",
                "date_published": it.disclosed_at.isoformat(),
                "tags": [it.topic],
                "_ledger": {
                    "unit": it.unit,
                    "commitment": it.commitment,
                    "fulfilment": it.fulfilment,
                    "channel": it.disclosure_channel,
                    "satisfaction": it.satisfaction,
                    "fulfilled_at": it.fulfilled_at.isoformat() if it.fulfilled_at else None,
                },
            }
            for it in items
        ],
    }
    return json.dumps(feed, ensure_ascii=False, indent=1)
