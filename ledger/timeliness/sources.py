"""Items for the timeliness figures, read from the store (posts with their official replies) and
the ledger database (cases: 交办 -> 实际回复). Reads only."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from ledger.timeliness.attribution import UnitMatcher
from ledger.timeliness.config import TimelinessConfig
from ledger.timeliness.figures import LEDGER_CHANNEL, Item
from yuqing.events import PostClassified
from yuqing.store import Query, Store
from yuqing.timeutil import TZ, parse_datetime

REPLY_KINDS = ("liuyan", "board", "hotline")  # message boards and hotlines: every post expects a reply
_PAGE = 500


def post_item(post: PostClassified, cfg: TimelinessConfig, matcher: UnitMatcher, case_unit: str | None = None) -> Item:
    """One post as an item: its unit from the reply (metadata, signature, opening), else for an
    unanswered post the 承办单位 its source names, else the unit of the case it was filed under."""
    received: datetime | None = post.published_at
    if post.source.kind == "replay" and post.raw.get("original_published"):
        # A replayed post is re-timed to arrive now; its reply keeps the original time, so the
        # original publication time is the one to measure from.
        original = parse_datetime(str(post.raw["original_published"]))
        received = original.astimezone(TZ) if original is not None else None
    reply = post.reply if post.reply is not None and post.reply.content.strip() else None
    declared = str(post.raw.get("unit") or "").strip() or None
    if reply is not None:
        att = matcher.attribute(reply.content, reply.organization or declared)
        unit, how = att.unit, att.how
        if unit is None and case_unit:
            unit, how = case_unit, "所属台账案件的交办单位"
    elif declared:
        att = matcher.attribute("", declared)
        unit, how = att.unit, ("承办单位" if att.unit else att.how)
    elif case_unit:
        unit, how = case_unit, "所属台账案件的交办单位"
    else:
        unit, how = None, "未回复，来源未注明承办单位"
    return Item(
        ref=post.id,
        channel=post.source.name,
        title=(post.title or post.content)[:60],
        received_at=received,
        limit=cfg.limit_for(post.source.id),
        replied=reply is not None,
        replied_at=reply.replied_at.astimezone(TZ) if reply is not None and reply.replied_at is not None else None,
        unit=unit,
        how=how,
        url=post.url,
    )


def _all(store: Store, query: Query) -> Iterator[PostClassified]:
    offset = 0
    while True:
        page = store.search(replace(query, limit=_PAGE, offset=offset)).hits
        yield from page
        if len(page) < _PAGE:
            return
        offset += _PAGE


def store_posts(store: Store, cfg: TimelinessConfig, since: datetime | None, until: datetime | None) -> Iterator[PostClassified]:
    """Posts published in [since, until) that count: every post of the configured sources (or of
    message-board and hotline sources), and from other sources the posts that carry a reply."""
    query = Query(since=since, until=until)
    for source_id in sorted(store.count_by("source", query)):
        if cfg.sources is not None:
            if source_id in cfg.sources:
                yield from _all(store, replace(query, source=source_id))
            continue
        for post in _all(store, replace(query, source=source_id)):
            if post.source.kind in REPLY_KINDS or post.reply is not None:
                yield post


def ledger_cases(engine: Engine | None, since: datetime | None, until: datetime | None) -> tuple[list[Item], dict[str, str]]:
    """Cases assigned to a unit in [since, until) as items, and post id -> the case's unit for
    every post filed under any assigned case."""
    from ledger.tables import Case, Unit

    if engine is None or not inspect(engine).has_table(Case.__tablename__):
        return [], {}
    items: list[Item] = []
    post_units: dict[str, str] = {}
    with Session(engine) as s:
        rows = s.execute(select(Case, Unit.name).join(Unit, Unit.id == Case.unit_id).where(Case.assigned_at.is_not(None))).all()
        for case, unit in rows:
            for pid in case.post_ids or []:
                post_units.setdefault(pid, unit)
            assigned = case.assigned_at.astimezone(TZ) if case.assigned_at else None
            if assigned is None or (since is not None and assigned < since) or (until is not None and assigned >= until):
                continue
            items.append(
                Item(
                    ref=case.number or f"#{case.id}",
                    channel=LEDGER_CHANNEL,
                    title=case.title[:60],
                    received_at=assigned,
                    limit=case.time_limit_days + case.extended_days,
                    replied=case.responded_at is not None,
                    replied_at=case.responded_at.astimezone(TZ) if case.responded_at else None,
                    unit=unit,
                    how="台账交办单位",
                )
            )
    return items, post_units


def gather(store: Store | None, engine: Engine | None, cfg: TimelinessConfig, since: datetime | None, until: datetime | None) -> list[Item]:
    """Every item of the period: the store's posts (when a store is given) and the ledger's cases."""
    matcher = UnitMatcher(cfg.units)
    cases, post_units = ledger_cases(engine, since, until)
    items: list[Item] = list(cases)
    if store is not None:
        items.extend(post_item(p, cfg, matcher, post_units.get(p.id)) for p in store_posts(store, cfg, since, until))
    return items


def only_unit(items: Iterable[Item], unit: str) -> list[Item]:
    return [i for i in items if i.unit == unit]
