"""Composition: settings -> rules, store, renderer, channels, engine and deliverer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from alerts.config import AlertsConfig
from alerts.engine import Clock, Engine
from alerts.render import Renderer
from alerts.rules.base import Rule
from alerts.rules.registry import load_rules
from alerts.store import AlertStore
from notify.base import Notifier, NotifierContext
from notify.delivery import Deliverer
from notify.registry import make_notifier
from yuqing.bus import Bus
from yuqing.errors import ConfigError
from yuqing.timeutil import now as wall_now

if TYPE_CHECKING:
    from app.settings import Settings  # a type only: stages do not import the application


def database_url(settings: Settings) -> str:
    return settings.alerts.database_url or settings.database.url


def web_base_url(settings: Settings) -> str:
    return settings.alerts.web_base_url or settings.ledger.base_url


def rules_path(settings: Settings) -> str | None:
    """The rules file; a relative path is taken relative to the settings file, then to the cwd."""
    path = settings.alerts.rules
    if path and settings.source_file and not Path(path).is_absolute():
        beside = Path(settings.source_file).parent / path
        if beside.exists() and not Path(path).exists():
            return str(beside)
    return path


def make_renderer(config: AlertsConfig, base_url: str) -> Renderer:
    renderer = Renderer(base_url, event_path=config.event_path, alert_path=config.alert_path, templates=config.templates)
    renderer.check()
    return renderer


def make_notifiers(config: AlertsConfig, db_url: str) -> dict[str, Notifier]:
    ctx = NotifierContext(database_url=db_url)
    out: dict[str, Notifier] = {}
    for cfg in config.notifiers:
        try:
            out[cfg.name] = make_notifier(cfg, ctx)
        except ValueError as exc:
            raise ConfigError(str(exc), key=f"alerts.notifiers.{cfg.name}") from exc
    return out


@dataclass
class AlertService:
    engine: Engine
    deliverer: Deliverer
    store: AlertStore
    notifiers: dict[str, Notifier] = field(default_factory=dict)

    def close(self) -> None:
        self.deliverer.close()


def build_service(
    settings: Settings,
    *,
    bus: Bus | None = None,
    clock: Clock = wall_now,
    rules: Sequence[Rule] | None = None,
    notifiers: dict[str, Notifier] | None = None,
) -> AlertService:
    cfg = settings.alerts
    db_url = database_url(settings)
    store = AlertStore(db_url)
    if rules is None:
        rules = load_rules(rules_path(settings))
    for rule in rules:  # rules that read shared tables (policy_negative_rise: yuqing_policies)
        if hasattr(rule, "use_database"):
            rule.use_database(settings.database.url)
    chans = notifiers if notifiers is not None else {**make_notifiers(cfg, db_url), **make_unit_notifiers(settings, db_url)}
    deliverer = Deliverer(store, chans, cfg.retry, clock=clock)
    engine = Engine(rules, cfg, store, make_renderer(cfg, web_base_url(settings)), clock=clock, bus=bus, on_deliveries=deliverer.wake)
    engine.topic_units = dict(settings.ledger.topic_units)
    for name in chans:
        if name.startswith(UNIT_PREFIX):
            unit = name[len(UNIT_PREFIX) :].rpartition(":")[0]
            engine.unit_channels.setdefault(unit, []).append(name)
    return AlertService(engine, deliverer, store, chans)


UNIT_PREFIX = "unit:"


def unit_channel(unit: str, name: str) -> str:
    """The alert engine's name of a unit's channel (the ledger's own deliveries use ``ledger:unit:``)."""
    return f"{UNIT_PREFIX}{unit}:{name}"


def make_unit_notifiers(settings: Settings, db_url: str) -> dict[str, Notifier]:
    """Each unit's own channels (``ledger.unit_channels``), for routes with ``to_unit``."""
    ctx = NotifierContext(database_url=db_url)
    out: dict[str, Notifier] = {}
    for u in settings.ledger.unit_channels:
        for c in u.notifiers:
            try:
                n = make_notifier(dict(c), ctx)
            except ValueError as exc:
                raise ConfigError(str(exc), key=f"ledger.unit_channels.{u.unit}") from exc
            out[unit_channel(u.unit, n.name)] = n
    return out
