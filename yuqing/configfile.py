"""Reading the YAML files people edit (settings, alert rules), with errors that name the file
and the line, so a typo stops start-up with one clear ConfigError instead of a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from yuqing.errors import ConfigError


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
