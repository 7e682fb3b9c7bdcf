"""The combined settings: the core's sections (``yuqing.settings.CoreSettings``) and one section
per stage, each section's class owned by its stage. ``config/yuqing.example.yaml`` documents every
key (a test keeps the two in step)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from alerts.config import AlertsConfig
from collectors.config import SourceConfig, validate_sources
from ledger.config import LedgerConfig
from processors.config import ProcessorsConfig
from yuqing.settings import BusConfig, CoreSettings, DatabaseConfig, StoreConfig
from yuqing.settings import load_settings as _load

__all__ = ["BusConfig", "DatabaseConfig", "Settings", "StoreConfig", "load_settings"]


class Settings(CoreSettings):
    sources: list[SourceConfig] = Field(default_factory=list)
    processors: ProcessorsConfig = ProcessorsConfig()
    alerts: AlertsConfig = AlertsConfig()
    ledger: LedgerConfig = LedgerConfig()

    def after_load(self, fname: str) -> None:
        validate_sources(self.sources, fname)
        super().after_load(fname)


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Load ``path`` (or $YUQING_CONFIG, or ./yuqing.yaml when present, or the defaults)."""
    return _load(path, environ, model=Settings)
