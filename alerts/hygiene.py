"""Whether a due notification goes out now: silences, inhibition, quiet hours. Pure functions.

Order of judgement (the first that applies is recorded as the reason):
1. a timed silence whose matchers all match the alert's labels (plus ``rule`` and ``severity``);
2. inhibition: an open alert of the inhibiting severity shares the ``equal`` labels;
3. quiet hours, unless the alert's severity is in ``quiet_hours.override`` (重大 by default).
A held notification is not dropped: it goes out when the reason ends, if the alert is still open.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from alerts.config import InhibitRule, QuietHours
from alerts.model import severity_rank
from alerts.store import Alert, Silence


def matchable(alert: Alert) -> dict[str, str]:
    return {**alert.labels, "rule": alert.rule, "severity": alert.severity}


def matcher_matches(pattern: str, value: str | None) -> bool:
    if value is None:
        return False
    if len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/"):
        return re.search(pattern[1:-1], value) is not None
    return pattern == value


def silenced_by(alert: Alert, silences: Iterable[Silence], now: datetime) -> Silence | None:
    labels = matchable(alert)
    for s in silences:
        if s.active(now) and all(matcher_matches(p, labels.get(k)) for k, p in s.matchers.items()):
            return s
    return None


def inhibited_by(alert: Alert, rule: InhibitRule, candidates: Iterable[Alert]) -> Alert | None:
    """``candidates``: open alerts of ``rule.source_severity`` other than ``alert``."""
    if severity_rank(alert.severity) >= severity_rank(rule.source_severity):
        return None
    mine = [alert.labels.get(k) for k in rule.equal]
    if any(v is None or v == "" for v in mine):
        return None
    for other in candidates:
        if [other.labels.get(k) for k in rule.equal] == mine:
            return other
    return None


def quiet(alert: Alert, hours: QuietHours, at: datetime) -> bool:
    return hours.active(at) and alert.severity not in hours.override
