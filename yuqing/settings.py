"""Settings: one YAML file plus ``YUQING_<SECTION>__<KEY>`` environment overrides.

The core's sections (bus, store, database, calendar, state_url, log_level) and the loader. The
combined settings, with each stage's section, are the application's: ``app.settings.Settings``
subclasses ``CoreSettings`` and passes itself to ``load_settings(model=...)``.

Validated once at start-up: any error raises ConfigError naming the file (or the environment
variable) and the dotted key. Every setting is documented in ``config/yuqing.example.yaml``
(a test keeps the two in step).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from yuqing.configfile import read_yaml
from yuqing.errors import ConfigError
from yuqing.workdays import CalendarConfig
from yuqing.workdays import configure as configure_calendar

ENV_PREFIX = "YUQING_"
DEFAULT_FILE = "yuqing.yaml"


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


class CoreSettings(_Section):
    """The sections of the core; the application's settings add one section per stage."""

    bus: BusConfig = BusConfig()
    store: StoreConfig = StoreConfig()
    database: DatabaseConfig = DatabaseConfig()
    calendar: CalendarConfig = CalendarConfig()
    state_url: str = Field("sqlite:///yuqing-data/state.db", description="local worker state: collector cursors, alert windows")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Where the settings came from, for error messages and relative paths.
    source_file: str | None = Field(default=None, exclude=True)

    @classmethod
    def prepare(cls, data: dict[str, Any], fname: str) -> dict[str, Any]:
        """The raw settings (file and environment merged) before validation: where a subclass
        reads old keys into new ones. ConfigError names the file and the key."""
        return data

    def after_load(self, fname: str) -> None:
        """Checks across sections once loaded (``fname`` names the file in errors), and the
        process-wide set-up the settings imply."""
        # Deadlines are counted in every stage of this process with the configured holiday schedules.
        configure_calendar(self.calendar)


S = TypeVar("S", bound=CoreSettings)


def _set_path(data: dict[str, Any], path: list[str], value: Any) -> None:
    node = data
    for part in path[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = node[part] = {}
        node = nxt
    node[path[-1]] = value


def _env_overrides(environ: dict[str, str], model: type[CoreSettings]) -> dict[str, str]:
    """``YUQING_BUS__URL=kafka://k:9092`` -> {"bus.url": "kafka://k:9092"}; ``YUQING_STATE_URL`` ->
    {"state_url": ...}. Variables that name no settings section (YUQING_CONFIG) are not keys."""
    out = {}
    sections = set(model.model_fields) - {"source_file"}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower().replace("__", ".")
        if key.split(".")[0] in sections:
            out[key] = value
    return out


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None, *, model: type[S] = CoreSettings) -> S:  # type: ignore[assignment]
    """Load ``path`` (or $YUQING_CONFIG, or ./yuqing.yaml when present, or the defaults) into ``model``."""
    environ = dict(os.environ if environ is None else environ)
    file: Path | None = Path(path) if path else None
    if file is None and environ.get("YUQING_CONFIG"):
        file = Path(environ["YUQING_CONFIG"])
    if file is None and Path(DEFAULT_FILE).exists():
        file = Path(DEFAULT_FILE)
    data: dict[str, Any] = {}
    fname = str(file) if file else "<defaults>"
    if file is not None:
        loaded = read_yaml(file, "settings")
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError("the settings file must be a mapping of sections", file=fname)
        data = loaded
    env = _env_overrides(environ, model)
    for key, raw in env.items():
        # Strings such as URLs and secrets are taken verbatim; other values are parsed as YAML
        # scalars so that ``YUQING_BUS__PARTITIONS=8`` is a number.
        value: Any = raw
        if not key.endswith(("url", "password", "secret", "token", "api_key")):
            try:
                value = yaml.safe_load(raw) if raw else raw
            except yaml.YAMLError:
                value = raw
        _set_path(data, key.split("."), value)
    data = model.prepare(data, fname)
    try:
        settings = model.model_validate({**data, "source_file": str(file) if file else None})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        env_name = ENV_PREFIX + key.upper().replace(".", "__")
        origin = f"environment {env_name}" if key in env else fname
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown setting"
        raise ConfigError(msg, file=origin, key=key) from exc
    settings.after_load(fname)
    return settings
