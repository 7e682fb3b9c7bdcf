"""模型质量: how often the model agreed with the people who corrected its posts.

Each post counts once, in the period (ISO week or calendar month, Asia/Shanghai) of its latest
correction: for every field that correction judged, the model's value (before any correction)
against the person's. Per class: ``n`` posts the people put in the class, ``agreed`` of them the
model put there too (recall), ``model_n`` posts the model put there (precision = agreed / model_n).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from corrections.model import FIELDS, label
from corrections.table import Correction

Period = Literal["week", "month"]


@dataclass
class ClassFigures:
    value: str | None
    label: str
    n: int = 0  # people said this
    agreed: int = 0  # ... and so did the model
    model_n: int = 0  # the model said this

    @property
    def recall(self) -> float | None:
        return self.agreed / self.n if self.n else None

    @property
    def precision(self) -> float | None:
        return self.agreed / self.model_n if self.model_n else None


@dataclass
class FieldFigures:
    field: str
    n: int = 0
    agreed: int = 0
    classes: dict[str, ClassFigures] = dataclasses.field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return self.agreed / self.n if self.n else None

    def add(self, model: str | None, person: str | None) -> None:
        self.n += 1
        self.agreed += model == person
        mine = self._cls(person)
        mine.n += 1
        mine.agreed += model == person
        self._cls(model).model_n += 1

    def _cls(self, value: str | None) -> ClassFigures:
        key = value or ""
        if key not in self.classes:
            self.classes[key] = ClassFigures(value, label(self.field, value))
        return self.classes[key]

    def sorted_classes(self) -> list[ClassFigures]:
        return sorted(self.classes.values(), key=lambda c: (-c.n, -c.model_n, c.label))


@dataclass
class PeriodFigures:
    key: str  # 2026-W49 | 2026-12
    title: str  # 2026年第49周（11-30 至 12-06） | 2026年12月
    start: date
    posts: int = 0
    fields: dict[str, FieldFigures] = dataclasses.field(default_factory=lambda: {f: FieldFigures(f) for f in FIELDS})


def period_of(day: date, period: Period) -> tuple[str, str, date]:
    if period == "month":
        return f"{day.year}-{day.month:02d}", f"{day.year}年{day.month}月", day.replace(day=1)
    y, w, _ = day.isocalendar()
    start = day - timedelta(days=day.weekday())
    end = start + timedelta(days=6)
    return f"{y}-W{w:02d}", f"{y}年第{w}周（{start:%m-%d} 至 {end:%m-%d}）", start


def figures(corrections: Iterable[Correction], period: Period = "week") -> list[PeriodFigures]:
    """Newest period first."""
    latest: dict[str, Correction] = {}
    first: dict[str, Correction] = {}
    for c in corrections:  # in id order
        first.setdefault(c.post_id, c)
        latest[c.post_id] = c
    periods: dict[str, PeriodFigures] = {}
    for pid, c in latest.items():
        key, title, start = period_of(c.created_at.date(), period)
        pf = periods.setdefault(key, PeriodFigures(key, title, start))
        pf.posts += 1
        model = first[pid].model
        for f in c.reviewed:
            pf.fields[f].add(model.get(f), c.new.get(f))
    return sorted(periods.values(), key=lambda p: p.start, reverse=True)
