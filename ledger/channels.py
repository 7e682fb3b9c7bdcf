"""The ledger's own deliveries — reminders, escalations and briefings — durable, with retries.

They go through the shared delivery machinery (``notify.delivery`` over the
``alert_deliveries``/``alert_attempts`` tables of the alerts database): every message is written
as a pending delivery per channel before the first attempt, each attempt is recorded, and failed
attempts are retried with exponential backoff (``alerts.retry``) by the ``ledger:deliveries`` job
in ``yuqing run`` — also after a restart. The ledger's channels are named with a ``ledger:``
prefix so the alert engine's deliverer never picks up their rows, nor this one the alerts':

- ``ledger:office:<name>``       the monitoring office (``ledger.notifiers``): copied on every
  escalation, and the fallback for a unit without channels of its own;
- ``ledger:unit:<unit>:<name>``  a unit's own channels (``ledger.unit_channels``);
- ``ledger:briefing:<name>``     briefing recipients (``ledger.briefing.recipients``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger.config import LedgerConfig
from notify.base import Notification, Notifier, NotifierContext
from notify.config import RetryConfig
from notify.delivery import ClaimingDeliverer
from notify.registry import make_notifier, parse_notifier_config
from notify.store import Delivery, DeliveryStore
from yuqing.timeutil import now as wall_now

log = logging.getLogger("ledger.channels")

OFFICE = "ledger:office:"
UNIT = "ledger:unit:"
BRIEFING = "ledger:briefing:"


def unit_channel(unit: str, name: str) -> str:
    return f"{UNIT}{unit}:{name}"


def describe(config: dict[str, Any]) -> str:
    """Who a channel reaches, for records and pages (addresses for email, the robot's kind and name otherwise)."""
    cfg = parse_notifier_config(config)
    to = getattr(cfg, "to", None)
    if isinstance(to, list):
        return f"邮件 {', '.join([*to, *getattr(cfg, 'cc', [])])}"
    kinds = {"dingtalk": "钉钉", "wecom": "企业微信", "feishu": "飞书", "webhook": "Webhook", "inbox": "站内信"}
    return f"{kinds.get(cfg.type, cfg.type)} {cfg.name}"


@dataclass(frozen=True)
class Target:
    """Where one message goes: channel names, and a note when a unit had to fall back."""

    channels: list[str]
    notes: list[str] = field(default_factory=list)


class LedgerDeliveries:
    """The ledger's router onto the shared durable delivery (``notify.delivery``): which channels a
    message goes to, enqueueing it once per (key, channel), and running due attempts. (Not an
    outbox of events: that is ``ledger.outbox``, on ``yuqing.outbox``.)"""

    def __init__(
        self,
        config: LedgerConfig,
        alerts_database_url: str,
        retry: RetryConfig | None = None,
        *,
        clock: Callable[[], datetime] = wall_now,
        notifiers: dict[str, Notifier] | None = None,
    ) -> None:
        self.config = config
        self.store = DeliveryStore(alerts_database_url)
        if notifiers is None:
            ctx = NotifierContext(database_url=alerts_database_url)
            notifiers = {}
            for c in config.notifiers:
                n = make_notifier(dict(c), ctx)
                notifiers[OFFICE + n.name] = n
            for u in config.unit_channels:
                for c in u.notifiers:
                    n = make_notifier(dict(c), ctx)
                    notifiers[unit_channel(u.unit, n.name)] = n
            for c in config.briefing.recipients:
                n = make_notifier(dict(c), ctx)
                notifiers[BRIEFING + n.name] = n
        self.notifiers = notifiers
        self.deliverer = ClaimingDeliverer(self.store, notifiers, retry or RetryConfig(), clock=clock)
        self.clock = clock

    # -- who gets what ----------------------------------------------------------------------
    def office(self) -> list[str]:
        return [n for n in self.notifiers if n.startswith(OFFICE)]

    def of_unit(self, unit: str) -> list[str]:
        prefix = f"{UNIT}{unit}:"
        return [n for n in self.notifiers if n.startswith(prefix)]

    def briefing(self) -> list[str]:
        return [n for n in self.notifiers if n.startswith(BRIEFING)]

    def for_units(self, units: Iterable[str], *, copy_office: bool = False) -> Target:
        """The channels of ``units``; a unit without its own falls back to the office's (said in
        ``notes``); the office is copied when ``copy_office`` (escalations)."""
        channels: list[str] = []
        notes: list[str] = []
        fallback = False
        for unit in dict.fromkeys(u for u in units if u):
            own = self.of_unit(unit)
            if own:
                channels += [c for c in own if c not in channels]
            else:
                fallback = True
                notes.append(f"{unit}未配置通知渠道（ledger.unit_channels），改发监测办默认渠道")
        if fallback or copy_office:
            channels += [c for c in self.office() if c not in channels]
        if not channels:
            notes.append("未配置任何通知渠道（ledger.notifiers、ledger.unit_channels），仅在台账中留存")
        return Target(channels, notes)

    # -- sending ----------------------------------------------------------------------------
    def enqueue(self, key: str, kind: str, channels: Iterable[str], notification: Notification) -> None:
        """Pending deliveries, once per (key, channel): enqueueing again does nothing."""
        at = self.clock()
        row = dataclasses.asdict(notification)
        with self.store.begin() as conn:
            for name in channels:
                self.store.add_delivery_in(conn, None, key, kind, name, row, at)

    def run_due(self) -> int:
        """Attempt every due delivery of the ledger's channels once (the ``ledger:deliveries`` job)."""
        return self.deliverer.run_due()

    def deliveries(self, key: str) -> list[Delivery]:
        return self.deliveries_for([key])[key]

    def deliveries_for(self, keys: Iterable[str]) -> dict[str, list[Delivery]]:
        from sqlalchemy import select

        from notify import db

        wanted = list(dict.fromkeys(keys))
        out: dict[str, list[Delivery]] = {k: [] for k in wanted}
        if not wanted:
            return out
        c = db.deliveries.c
        with self.store.engine.connect() as conn:
            for r in conn.execute(select(db.deliveries).where(c.key.in_(wanted)).order_by(c.id)).mappings():
                out[r["key"]].append(Delivery.from_row(r))
        return out

    def close(self) -> None:
        self.deliverer.close()


def channel_label(name: str) -> str:
    """``ledger:unit:县人社局:rsj-robot`` -> ``县人社局 rsj-robot``, for pages and records."""
    if name.startswith(UNIT):
        unit, _, ch = name[len(UNIT) :].rpartition(":")
        return f"{unit} {ch}"
    if name.startswith(OFFICE):
        return f"监测办 {name[len(OFFICE) :]}"
    if name.startswith(BRIEFING):
        return name[len(BRIEFING) :]
    return name


def open_ledger_deliveries(settings: Any, *, clock: Callable[[], datetime] = wall_now) -> LedgerDeliveries:
    """The ledger's deliveries on the alerts database (``alerts.database_url``, default ``database.url``)."""
    return LedgerDeliveries(settings.ledger, settings.alerts.database_url or settings.database.url, settings.notify.retry, clock=clock)
