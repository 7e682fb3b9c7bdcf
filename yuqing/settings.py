"""Settings: one YAML file plus ``YUQING_<SECTION>__<KEY>`` environment overrides.

The core's sections (bus, store, database, calendar, state_url, log_level); the loader is
``yuqing.configfile.load_settings``. The combined settings, with each stage's section, are the
application's: ``app.settings.Settings`` subclasses ``CoreSettings`` and passes itself to
``load_settings(model=...)``. A command that needs one stage's section only reads a
``yuqing.configfile.PartialSettings`` instead.

Validated once at start-up: any error raises ConfigError naming the file (or the environment
variable) and the dotted key. Every setting is documented in ``config/yuqing.example.yaml``
(a test keeps the two in step).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from yuqing.configfile import LogLevel, SettingsModel
from yuqing.configfile import load_settings as _load_model
from yuqing.workdays import CalendarConfig
from yuqing.workdays import configure as configure_calendar


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BusConfig(_Section):
    url: str = "sqlite:///yuqing-data/bus.db"
    partitions: int = Field(4, ge=1, le=256)
    session_timeout_ms: int = Field(10000, ge=1000)
    heartbeat_ms: int = Field(3000, ge=100)
    client_id: str = "yuqing"
    retention_days: float = Field(30.0, gt=0, description="embedded bus: keep consumed messages this long")

    @field_validator("url")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if not v.startswith(("sqlite:///", "kafka://")):
            raise ValueError(f"unknown bus URL {v!r}: use sqlite:///PATH or kafka://HOST:PORT[,HOST:PORT]")
        return v


class StoreConfig(_Section):
    url: str = "sqlite:///yuqing-data/store.db"
    index: str = "yuqing-posts"
    refresh: Literal["wait_for", "true", "false"] = "false"
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    verify_certs: bool = True
    ca_certs: str | None = None
    plain_json: bool = False  # only for OpenSearch-compatible test servers that reject compatible-with=8
    number_of_shards: int = Field(1, ge=1)
    number_of_replicas: int = Field(0, ge=0)

    @field_validator("refresh", mode="before")
    @classmethod
    def _refresh_bool(cls, v: object) -> object:
        # YAML reads `refresh: false` as a boolean; Elasticsearch's policy names are strings.
        return str(v).lower() if isinstance(v, bool) else v

    @field_validator("url")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if not v.startswith(("sqlite:///", "http://", "https://")):
            raise ValueError(f"unknown store URL {v!r}: use sqlite:///PATH or http(s)://HOST:PORT")
        return v


class DatabaseConfig(_Section):
    url: str = "sqlite:///yuqing-data/ledger.db"

    @field_validator("url")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if not v.startswith(("sqlite:", "postgresql")):
            raise ValueError(f"unknown database URL {v!r}: use sqlite:///PATH or postgresql+psycopg://...")
        return v


class CoreSettings(SettingsModel):
    """The sections of the core; the application's settings add one section per stage."""

    bus: BusConfig = BusConfig()
    store: StoreConfig = StoreConfig()
    database: DatabaseConfig = DatabaseConfig()
    calendar: CalendarConfig = CalendarConfig()
    state_url: str = Field("sqlite:///yuqing-data/state.db", description="local worker state: collector cursors, alert windows")
    log_level: LogLevel = "INFO"

    # Where the settings came from, for error messages and relative paths.
    source_file: str | None = Field(default=None, exclude=True)

    def after_load(self, fname: str) -> None:
        # Deadlines are counted in every stage of this process with the configured holiday schedules.
        configure_calendar(self.calendar)


S = TypeVar("S", bound=CoreSettings)


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None, *, model: type[S] = CoreSettings) -> S:  # type: ignore[assignment]
    """Load ``path`` (or $YUQING_CONFIG, or ./yuqing.yaml when present, or the defaults) into ``model``."""
    return _load_model(path, environ, model=model)
