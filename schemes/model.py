"""A scheme (监测方案): what one team watches.

``Scheme`` validates everything at load (from YAML, the API or the database): the include
expression must parse (``yuqing.query``) and must not be empty, names are unique, topics are
yuqing's topics. ``SchemeError`` lists every problem found, each naming the scheme and field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemes.matcher import Compiled
from yuqing.errors import YuqingError
from yuqing.events import PostClassified, Topic
from yuqing.query import Expr, QuerySyntaxError, parse

TOPICS: tuple[str, ...] = get_args(Topic)


class SchemeError(YuqingError):
    """Invalid schemes; ``problems`` are one line each: ``where: what``."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def _words(v: object) -> object:
    if isinstance(v, str):
        return [w for w in v.replace("，", ",").replace("、", ",").split(",")]
    return v


class Scheme(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=60)
    team: str = Field("", max_length=60, description="owning team (科室/单位)")
    include: str = Field(description="include expression (yuqing.query syntax)")
    exclude: list[str] = Field(default_factory=list, description="posts containing any of these words are left out")
    regions: list[str] = Field(default_factory=list, description="region path prefixes, e.g. 彭泽县/芙蓉墩镇 (empty: any)")
    sources: list[str] = Field(default_factory=list, description="source ids (empty: any)")
    topics: list[str] = Field(default_factory=list, description="topics (empty: any)")
    active: bool = True

    _split = field_validator("exclude", "regions", "sources", "topics", mode="before")(_words)

    @field_validator("exclude", "regions", "sources", "topics")
    @classmethod
    def _clean(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for w in (x.strip() for x in v):
            if w and w not in out:
                out.append(w)
        return out

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, v: list[str]) -> list[str]:
        unknown = [t for t in v if t not in TOPICS]
        if unknown:
            raise ValueError(f"unknown topic(s) {', '.join(unknown)}; topics are {', '.join(TOPICS)}")
        return v

    @field_validator("include")
    @classmethod
    def _expression(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("include expression is empty (it would match every post)")
        try:
            parse(v)
        except QuerySyntaxError as exc:
            raise ValueError(str(exc)) from exc
        return v

    @property
    def expr(self) -> Expr:
        return parse(self.include)

    def compiled(self) -> Compiled:
        return Compiled(self.name, self.expr, tuple(self.exclude), tuple(self.regions), tuple(self.sources), tuple(self.topics))

    def matches(self, post: PostClassified) -> bool:
        from schemes.matcher import Matcher

        return bool(Matcher([self.compiled()]).match_post(post))


def validate_all(rows: Iterable[Any], where: str = "schemes") -> list[Scheme]:
    """Validate every row; raise SchemeError listing all problems (nothing is half-accepted)."""
    out: list[Scheme] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        label = f"{where}[{i}]"
        if isinstance(row, dict) and isinstance(row.get("name"), str):
            label += f" ({row['name']})"
        try:
            s = row if isinstance(row, Scheme) else Scheme.model_validate(row)
        except ValidationError as exc:
            for e in exc.errors():
                loc = ".".join(str(x) for x in e["loc"]) or "(scheme)"
                msg = str(e["msg"]).removeprefix("Value error, ")
                problems.append(f"{label} {loc}: {msg}")
            continue
        if s.name in seen:
            problems.append(f"{label} name: duplicate of {where}[{seen[s.name]}]")
            continue
        seen[s.name] = i
        out.append(s)
    if problems:
        raise SchemeError(problems)
    return out
