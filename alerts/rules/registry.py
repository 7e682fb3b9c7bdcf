"""Rule types by short name, or any ``package.module:Class`` / ``package.module.Class`` path.

``load_rules(path)`` reads a rules file and validates every rule at load: errors raise
ConfigError naming the file and the field path (``rules[2].match.keywords``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from alerts.rules.base import Rule
from yuqing.configfile import read_yaml
from yuqing.errors import ConfigError
from yuqing.plugins import import_path

RULE_TYPES: dict[str, str] = {
    "any": "alerts.rules.any:AnyRule",
    "frequency": "alerts.rules.frequency:FrequencyRule",
    "spike": "alerts.rules.spike:SpikeRule",
    "negative_ratio": "alerts.rules.negative_ratio:NegativeRatioRule",
    "new_event": "alerts.rules.new_event:NewEventRule",
    "flatline": "alerts.rules.flatline:FlatlineRule",
    "rebound": "alerts.rules.rebound:ReboundRule",
    "unanswered": "alerts.rules.unanswered:UnansweredRule",
    "policy_negative_rise": "alerts.rules.policy_negative_rise:PolicyNegativeRiseRule",
}

BUNDLED_RULES = Path(__file__).resolve().parent.parent / "default_rules.yaml"


def rule_class(type_name: str) -> type[Rule]:
    target = RULE_TYPES.get(type_name, type_name)
    if type_name not in RULE_TYPES and "." not in type_name:
        raise ValueError(f"unknown rule type {type_name!r}; known: {', '.join(RULE_TYPES)} or a dotted path")
    try:
        cls = import_path(target)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load rule type {type_name!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Rule)):
        raise ValueError(f"{type_name!r} is not a Rule subclass")
    return cls


def _loc(prefix: str, loc: Sequence[Any]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def build_rules(items: list[Any], file: str) -> list[Rule]:
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        where = f"rules[{i}]"
        if not isinstance(item, dict):
            raise ConfigError("each rule must be a mapping", file=file, key=where)
        type_name = item.get("type")
        if not isinstance(type_name, str):
            raise ConfigError("a rule needs a type", file=file, key=f"{where}.type")
        try:
            cls = rule_class(type_name)
        except ValueError as exc:
            raise ConfigError(str(exc), file=file, key=f"{where}.type") from None
        try:
            # The class's own short name, so a dotted path to a built-in class validates too.
            config = cls.Config.model_validate({**item, "type": cls.type})
        except ValidationError as exc:
            errors = exc.errors()
            first = errors[0]
            msg = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
            name = item.get("name")
            named = f" (rule {name!r})" if isinstance(name, str) else ""
            more = f"; and {len(errors) - 1} more error(s)" if len(errors) > 1 else ""
            raise ConfigError(f"{msg}{named}{more}", file=file, key=_loc(where, first["loc"])) from None
        if config.name in seen:
            raise ConfigError(f"duplicate rule name {config.name!r} (also rules[{seen[config.name]}])", file=file, key=f"{where}.name")
        seen[config.name] = i
        if config.enabled:
            rules.append(cls(config))
    return rules


def load_rules(path: str | Path | None = None) -> list[Rule]:
    """Rules from ``path`` (None: the bundled ``alerts/default_rules.yaml``)."""
    file = Path(path) if path else BUNDLED_RULES
    fname = str(file)
    data = read_yaml(file, "rules")
    if isinstance(data, dict) and set(data) == {"rules"}:
        data = data["rules"]
    if data is None:
        data = []
    if not isinstance(data, list):
        raise ConfigError("a rules file is a list of rules, or a mapping with one key 'rules'", file=fname)
    return build_rules(data, fname)
