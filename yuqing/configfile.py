"""Reading the YAML files people edit (settings, alert rules), with errors that name the file
and the line, so a typo stops start-up with one clear ConfigError instead of a traceback.

``load_settings`` reads the settings file and its ``YUQING_<SECTION>__<KEY>`` environment
overrides into a model: the core's ``yuqing.settings.CoreSettings``, the application's combined
settings, or a ``PartialSettings`` holding only the sections one command needs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yuqing.errors import ConfigError

ENV_PREFIX = "YUQING_"
DEFAULT_FILE = "yuqing.yaml"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


def read_yaml(file: Path, what: str) -> Any:
    """The parsed content of ``file``; ``what`` names it in errors ("settings", "rules")."""
    fname = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror}", file=fname) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"not valid YAML{where}: {getattr(exc, 'problem', exc)}", file=fname) from exc


class SettingsModel(BaseModel):
    """A model ``load_settings`` reads: its fields are the file's top-level keys (sections),
    ``source_file`` is set to the file read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def prepare(cls, data: dict[str, Any], fname: str) -> dict[str, Any]:
        """The raw settings (file and environment merged) before validation: where a subclass
        reads old keys into new ones. ConfigError names the file and the key."""
        return data

    def after_load(self, fname: str) -> None:
        """Checks across sections once loaded (``fname`` names the file in errors), and the
        process-wide set-up the settings imply."""


class PartialSettings(SettingsModel):
    """The log level and the sections a subclass declares, read from the same file and
    environment as the combined settings, for a command that needs one stage's section
    (``yuqing classify``) without building and validating every stage's. A declared section is
    validated as in the combined settings (the same ConfigError naming the file and key); the
    file's other sections are not read. A section the application prepares across sections
    (``app.settings.Settings.prepare``) must not be declared here."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    log_level: LogLevel = "INFO"
    source_file: str | None = Field(default=None, exclude=True)


M = TypeVar("M", bound=SettingsModel)


def _set_path(data: dict[str, Any], path: list[str], value: Any) -> None:
    node = data
    for part in path[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = node[part] = {}
        node = nxt
    node[path[-1]] = value


def _env_overrides(environ: dict[str, str], model: type[SettingsModel]) -> dict[str, str]:
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


def load_settings(path: str | Path | None, environ: dict[str, str] | None, *, model: type[M]) -> M:
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
