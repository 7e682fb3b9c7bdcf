"""The combined settings: the core's sections (``yuqing.settings.CoreSettings``) and one section
per stage, each section's class owned by its stage. ``config/yuqing.example.yaml`` documents every
key (a test keeps the two in step)."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

from pydantic import Field

from alerts.config import AlertsConfig
from collectors.config import SourceConfig, validate_sources
from ledger.config import LedgerConfig
from notify.config import ChannelNameError, NotifyConfig, by_name, channel_table
from processors.config import ProcessorsConfig
from yuqing.errors import ConfigError
from yuqing.settings import BusConfig, CoreSettings, DatabaseConfig, StoreConfig
from yuqing.settings import load_settings as _load

__all__ = ["BusConfig", "DatabaseConfig", "Settings", "StoreConfig", "load_settings"]


log = logging.getLogger("yuqing.settings")

# Old keys still read for one release, each with a warning naming its new key.
DEPRECATED = "{old}: the old form is still read for this release; use {new}"
OLD_KEYS = ("alerts.retry",)  # kept in the schema for that release, not documented any more


def _warn(fname: str) -> Any:
    def warn(old: str, new: str) -> None:
        log.warning("%s: %s", fname, DEPRECATED.format(old=old, new=new))

    return warn


class Settings(CoreSettings):
    sources: list[SourceConfig] = Field(default_factory=list)
    processors: ProcessorsConfig = ProcessorsConfig()
    alerts: AlertsConfig = AlertsConfig()
    ledger: LedgerConfig = LedgerConfig()
    notify: NotifyConfig = NotifyConfig()

    @classmethod
    def prepare(cls, data: dict[str, Any], fname: str) -> dict[str, Any]:
        """Channels are configured once, under ``notify.channels``; the parts name them. A channel
        configured in place (the old form) and ``alerts.retry`` are still read, with a warning."""
        data = copy.deepcopy(data)
        warn = _warn(fname)
        notify: dict[str, Any] = data["notify"] if isinstance(data.get("notify"), dict) else {}
        alerts = data.get("alerts") if isinstance(data.get("alerts"), dict) else None
        ledger = data.get("ledger") if isinstance(data.get("ledger"), dict) else None
        try:
            channels = channel_table(notify.get("channels"), "notify.channels")
            if alerts is not None and "notifiers" in alerts:
                alerts["notifiers"] = by_name(alerts["notifiers"], channels, "alerts.notifiers", warn)
            if ledger is not None:
                if "notifiers" in ledger:
                    ledger["notifiers"] = by_name(ledger["notifiers"], channels, "ledger.notifiers", warn)
                for i, unit in enumerate(ledger.get("unit_channels") or []):
                    if isinstance(unit, dict) and "notifiers" in unit:
                        unit["notifiers"] = by_name(unit["notifiers"], channels, f"ledger.unit_channels[{i}].notifiers", warn)
                briefing = ledger.get("briefing")
                if isinstance(briefing, dict) and "recipients" in briefing:
                    briefing["recipients"] = by_name(briefing["recipients"], channels, "ledger.briefing.recipients", warn)
        except ChannelNameError as exc:
            raise ConfigError(str(exc), file=fname, key=exc.key) from exc
        if alerts is not None and "retry" in alerts:
            warn("alerts.retry", "notify.retry")
            if notify.get("retry") is not None:
                raise ConfigError("set notify.retry only (alerts.retry is its old name)", file=fname, key="alerts.retry")
            data.setdefault("notify", {})["retry"] = alerts["retry"]
        elif notify.get("retry") is not None:
            # The alert engine reads its retry policy where it always did.
            data.setdefault("alerts", {})["retry"] = notify["retry"]
        return data

    def after_load(self, fname: str) -> None:
        validate_sources(self.sources, fname)
        super().after_load(fname)


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Load ``path`` (or $YUQING_CONFIG, or ./yuqing.yaml when present, or the defaults)."""
    return _load(path, environ, model=Settings)
