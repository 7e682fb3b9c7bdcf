"""Which channels an alert goes to, by topic, region, unit, rule and severity. Pure functions.

Routes are tried in order; the first match wins unless it has ``continue: true``, in which case
later matching routes add their channels too. An alert no route matches goes nowhere (and
``yuqing rules check`` says so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alerts.config import RouteConfig, RouteMatch
from alerts.model import severity_rank


def _under(value: str | None, prefix: str) -> bool:
    if not value:
        return False
    prefix = prefix.strip("/")
    return value == prefix or value.startswith(prefix + "/")


def route_matches(m: RouteMatch, labels: dict[str, str], rule: str, severity: str) -> bool:
    if m.topic is not None and labels.get("topic") not in m.topic:
        return False
    if m.region is not None and not any(_under(labels.get("region"), r) for r in m.region):
        return False
    if m.unit is not None and labels.get("unit") not in m.unit:
        return False
    if m.rule is not None and rule not in m.rule:
        return False
    return m.severity is None or severity_rank(severity) >= severity_rank(m.severity)


def alert_unit(labels: Mapping[str, str], topic_units: Mapping[str, str]) -> str | None:
    """The unit an alert is for: the rule's responsible unit, else the unit its topic goes to."""
    return labels.get("unit") or topic_units.get(labels.get("topic") or "") or None


def resolve_routes(
    routes: Sequence[RouteConfig],
    labels: dict[str, str],
    rule: str,
    severity: str,
    *,
    unit_channels: Mapping[str, Sequence[str]] | None = None,
    topic_units: Mapping[str, str] | None = None,
) -> tuple[list[str], list[list[object]]]:
    """(notifier names, escalation steps ``[[after_seconds, [names]], ...]`` sorted by time).

    A route with ``to_unit`` also sends to the channels of the alert's unit (``unit_channels``:
    unit -> channel names); a unit without channels gets nothing extra and the route's own
    notifiers, always present, carry the alert."""
    notifiers: list[str] = []
    steps: list[list[object]] = []
    for route in routes:
        if not route_matches(route.match, labels, rule, severity):
            continue
        notifiers += [n for n in route.notifiers if n not in notifiers]
        if route.to_unit:
            unit = alert_unit(labels, topic_units or {})
            notifiers += [n for n in (unit_channels or {}).get(unit or "", []) if n not in notifiers]
        if route.escalate_after is not None:
            steps.append([route.escalate_after.total_seconds(), list(route.escalate_to)])
        if not route.continue_:
            break
    steps.sort(key=lambda s: float(s[0]))  # type: ignore[arg-type]
    return notifiers, steps
