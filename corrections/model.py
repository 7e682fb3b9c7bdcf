"""The correctable fields of a classified post and their allowed values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from yuqing.errors import YuqingError
from yuqing.events import RISK_LEVELS, SENTIMENTS, TOPICS, PostClassified

FIELDS = ("topic", "sentiment", "risk_level", "region")
FIELD_LABELS = {"topic": "主题", "sentiment": "情感", "risk_level": "风险等级", "region": "地区"}
SENTIMENT_LABELS = {"negative": "负面", "neutral": "中性", "positive": "正面"}
NO_REGION = ""  # the form's and the export's value for "no region" (stored as None on the post)


class CorrectionError(YuqingError):
    """A correction that cannot be saved: ``field`` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@lru_cache(maxsize=1)
def region_paths() -> tuple[str, ...]:
    """Every region a post may be given: the paths of the county gazetteer, county first."""
    from processors.gazetteer import Gazetteer

    return tuple(p.path for p in Gazetteer.load().places)


def values_of(post: PostClassified) -> dict[str, str | None]:
    return {"topic": post.topic, "sentiment": post.sentiment, "risk_level": post.risk.level, "region": post.region}


def label(field: str, value: str | None) -> str:
    """A value as the pages show it."""
    if value is None or value == NO_REGION:
        return "无" if field == "region" else "—"
    return SENTIMENT_LABELS.get(value, value) if field == "sentiment" else value


def validate(values: Mapping[str, Any], fields: Iterable[str] = FIELDS) -> dict[str, str | None]:
    """The given ``fields`` of ``values``, checked; region "" or None means no region. Raises
    CorrectionError naming the first field at fault."""
    allowed: dict[str, tuple[str, ...]] = {"topic": TOPICS, "sentiment": SENTIMENTS, "risk_level": RISK_LEVELS}
    out: dict[str, str | None] = {}
    for f in fields:
        if f not in FIELDS:
            raise CorrectionError(f"不能纠正字段「{f}」（可纠正：{'、'.join(FIELDS)}）", field=f)
        v = values.get(f)
        if f == "region":
            if v is None or (isinstance(v, str) and not v.strip()):
                out[f] = None
                continue
            if not isinstance(v, str) or v.strip() not in region_paths():
                raise CorrectionError(f"地区「{str(v)[:60]}」不在彭泽县地名表中（应如 彭泽县/龙城镇）", field=f)
            out[f] = v.strip()
            continue
        if not isinstance(v, str) or v not in allowed[f]:
            raise CorrectionError(f"{FIELD_LABELS[f]}「{str(v)[:60]}」无效，可选：{'、'.join(allowed[f])}", field=f)
        out[f] = v
    return out


def apply_values(post: PostClassified, values: Mapping[str, str | None]) -> PostClassified:
    """``post`` with the corrected ``values`` (any of FIELDS) in place; unchanged if they are its own.
    A corrected risk level keeps the model's score and reasons and says it was corrected."""
    if all(values_of(post).get(f) == v for f, v in values.items()):
        return post
    update: dict[str, Any] = {}
    if "topic" in values:
        update["topic"] = values["topic"]
    if "sentiment" in values:
        update["sentiment"] = values["sentiment"]
    if "region" in values:
        update["region"] = values["region"] or None
    level = values.get("risk_level")
    if level is not None and level != post.risk.level:
        note = f"人工纠错：风险等级 {post.risk.level}→{level}"
        reasons = [r for r in post.risk.reasons if not r.startswith("人工纠错：")] + [note]
        update["risk"] = post.risk.model_copy(update={"level": level, "reasons": reasons})
    return post.model_copy(update=update)
