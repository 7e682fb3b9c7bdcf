"""Settings of reply timeliness (the ``ledger.timeliness:`` section of yuqing.yaml): the working-day
limit, the sources whose posts count, and the alias list that attributes a reply to a unit."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TOWNS = (
    "龙城镇",
    "棉船镇",
    "马当镇",
    "芙蓉墩镇",
    "定山镇",
    "天红镇",
    "杨梓镇",
    "东升镇",
    "瀼溪镇",
    "黄花镇",
    "太平关乡",
    "黄岭乡",
    "浩山乡",
)

# The county's departments named in 彭府办字〔2023〕68号 (as the ledger's demo units are named) with
# the names they sign replies with: full official name, with and without the county, and the
# usual short form. Towns sign as 某镇人民政府 / 某镇政府 / 某镇.
DEFAULT_UNITS: list[dict[str, Any]] = [
    {"unit": "县政府办", "aliases": ["彭泽县人民政府办公室", "县人民政府办公室", "县政府办公室", "县政府办"]},
    {"unit": "县数字经济发展中心", "aliases": ["彭泽县数字经济发展中心", "县数字经济发展中心", "县数字经济中心"]},
    {"unit": "县人力资源和社会保障局", "aliases": ["彭泽县人力资源和社会保障局", "县人力资源和社会保障局", "彭泽县人社局", "县人社局"]},
    {"unit": "县生态环境局", "aliases": ["九江市彭泽生态环境局", "彭泽生态环境局", "彭泽县生态环境局", "县生态环境局", "县环保局"]},
    {"unit": "县市场监管局", "aliases": ["彭泽县市场监督管理局", "县市场监督管理局", "彭泽县市场监管局", "县市场监管局"]},
    {"unit": "县住房和城乡建设局", "aliases": ["彭泽县住房和城乡建设局", "县住房和城乡建设局", "彭泽县住建局", "县住建局"]},
    {"unit": "县教体局", "aliases": ["彭泽县教育体育局", "县教育体育局", "彭泽县教体局", "县教体局", "县教育局"]},
    {"unit": "县卫健委", "aliases": ["彭泽县卫生健康委员会", "县卫生健康委员会", "彭泽县卫健委", "县卫健委"]},
    {"unit": "县应急管理局", "aliases": ["彭泽县应急管理局", "县应急管理局", "县应急局"]},
    {"unit": "县民政局", "aliases": ["彭泽县民政局", "县民政局"]},
    *({"unit": t, "aliases": [f"{t}人民政府", f"{t}政府", t]} for t in TOWNS),
]


class UnitAliases(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: str = Field(min_length=1, description="the unit's name, as in the ledger's unit list")
    aliases: list[str] = Field(default_factory=list, description="names the unit signs replies with (the unit's own name always counts)")

    @field_validator("unit")
    @classmethod
    def _strip(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("unit name is blank")
        return v.strip()

    @field_validator("aliases")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        out = []
        for a in v:
            a = a.strip()
            if len(a) < 2:
                raise ValueError(f"alias {a!r} is too short to recognise a unit (at least 2 characters)")
            out.append(a)
        return out

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys([self.unit, *self.aliases]))


class TimelinessConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    limit_workdays: int = Field(5, ge=1, le=120, description="a reply later than this many working days after the post is late")
    channel_limits: dict[str, int] = Field(default_factory=dict, description="source id -> working days, over limit_workdays")
    sources: list[str] | None = Field(
        None,
        description="source ids whose posts count as received; null = every post with a reply and every post of a liuyan/board/hotline source",
    )
    units: list[UnitAliases] = Field(
        default_factory=lambda: [UnitAliases.model_validate(u) for u in DEFAULT_UNITS], description="unit -> names it replies under"
    )
    rank_min_received: int = Field(3, ge=1, description="units with fewer posts received in the period are not ranked")

    @field_validator("channel_limits", mode="before")
    @classmethod
    def _limit_list(cls, v: Any) -> Any:
        """Also accepted (the example file's form): a list of ``{source: hotline-12345, days: 3}``."""
        if v is None:
            return {}
        if not isinstance(v, list):
            return v
        out = {}
        for i, item in enumerate(v):
            if not isinstance(item, dict) or set(item) != {"source", "days"}:
                raise ValueError(f"item {i}: expected a mapping with exactly 'source' and 'days'")
            out[str(item["source"])] = item["days"]
        return out

    @field_validator("channel_limits")
    @classmethod
    def _limits(cls, v: dict[str, int]) -> dict[str, int]:
        for source, days in v.items():
            if not isinstance(days, int) or not 1 <= days <= 120:
                raise ValueError(f"channel_limits.{source}: working days must be an integer between 1 and 120, got {days!r}")
        return v

    @model_validator(mode="after")
    def _distinct(self) -> TimelinessConfig:
        owner: dict[str, str] = {}
        for u in self.units:
            for name in u.names:
                other = owner.get(name)
                if other is not None and other != u.unit:
                    raise ValueError(f"alias {name!r} names two units: {other} and {u.unit}")
                owner[name] = u.unit
        seen: set[str] = set()
        for u in self.units:
            if u.unit in seen:
                raise ValueError(f"unit {u.unit!r} is listed twice; put all its aliases in one entry")
            seen.add(u.unit)
        return self

    def limit_for(self, source_id: str) -> int:
        return self.channel_limits.get(source_id, self.limit_workdays)
