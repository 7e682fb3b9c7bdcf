"""Policy watch (政策舆情): a registered policy document and the posts about it.

A policy has a title, a document number (文号), an issuing body, a publication date and either a
监测方案 (by name: the posts tagged with it, ``post.schemes``) or its own keyword expression
(``yuqing.query`` syntax), plus an optional link to its 解读. Posts about it are compared before
and after publication (``schemes.policy_report``); the alert rule ``policy_negative_rise`` and the
briefing read the same table.

Validation (``Policy``; every problem is reported, each naming its field, in Chinese because the
web form and the API show them as they are):

- the publication date must be a date (``2026-11-01``, ``2026/11/1``, ``2026年11月1日``); a date in
  the future is allowed up to ``MAX_AHEAD_DAYS`` ahead (an upcoming policy is watched "before"
  only), further is refused as a typing mistake;
- exactly one of ``scheme`` and ``keywords``; the expression must parse (line and column are
  given); the scheme must exist in ``yuqing_schemes`` (checked when saving, in the same
  transaction);
- ``interpretation_url`` is empty or an http(s) address.

The table ``yuqing_policies`` lives next to ``yuqing_schemes`` in the ledger's database and is
created by this shared package (the alerts stage reads it without importing the ledger); every
change is also written to ``yuqing_policies_audit`` (who, when, what, the values before and after)
in the same transaction. Imports are all or nothing.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Integer, MetaData, String, Table, Text, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from schemes.model import SchemeError
from schemes.store import SchemeStoreError, _engine, schemes_table
from schemes.store import metadata as scheme_metadata
from yuqing.events import PostClassified
from yuqing.query import Expr, QuerySyntaxError, normalise, parse
from yuqing.timeutil import TZ, now

MAX_AHEAD_DAYS = 366  # an upcoming policy may be registered this far ahead; later dates are mistakes
EARLIEST = date(1949, 10, 1)
FIELDS = ("title", "doc_number", "issuer", "published", "scheme", "keywords", "interpretation_url", "active")
LABELS = {
    "title": "标题",
    "doc_number": "文号",
    "issuer": "发文机关",
    "published": "发布日期",
    "scheme": "监测方案",
    "keywords": "关键词",
    "interpretation_url": "解读链接",
    "active": "启用",
}
_DATE = re.compile(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*")


class PolicyError(SchemeError):
    """Invalid policies; ``problems`` are one line each: ``where 字段: what``."""


def parse_day(value: object) -> date:
    """A publication date as people type it; ValueError (Chinese) otherwise."""
    if isinstance(value, datetime):
        return value.astimezone(TZ).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError("请填写发布日期，如 2026-11-01")
    m = _DATE.fullmatch(value)
    if not m:
        raise ValueError(f"「{value[:30]}」不是日期，请用 2026-11-01 这样的格式")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError(f"「{value[:30]}」不是有效日期") from None


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: int | None = Field(default=None, description="database id (None: not saved yet)")
    title: str = Field(min_length=1, max_length=200, description="policy title, e.g. 《九江市住房公积金缴存管理办法》")
    doc_number: str = Field("", max_length=100, description="文号, e.g. 九金管委〔2018〕1号")
    issuer: str = Field(min_length=1, max_length=100, description="issuing body (发文机关)")
    published: date = Field(description="publication date (local, Asia/Shanghai)")
    scheme: str = Field("", max_length=60, description="监测方案 name: posts tagged with it")
    keywords: str = Field("", max_length=2000, description="or a keyword expression (yuqing.query syntax)")
    interpretation_url: str = Field("", max_length=500, description="URL of the policy's 解读 (optional)")
    active: bool = Field(True, description="watched: briefings and the alert rule include it")

    @field_validator("published", mode="before")
    @classmethod
    def _day(cls, v: object) -> date:
        d = parse_day(v)
        today = now().astimezone(TZ).date()
        if d < EARLIEST:
            raise ValueError(f"{d:%Y-%m-%d} 过早，请检查年份")
        if d > today + timedelta(days=MAX_AHEAD_DAYS):
            raise ValueError(f"{d:%Y-%m-%d} 晚于今天一年以上，请检查年份（即将发布的政策可提前登记，但不超过 {MAX_AHEAD_DAYS} 天）")
        return d

    @field_validator("keywords")
    @classmethod
    def _expression(cls, v: str) -> str:
        if v.strip():
            try:
                parse(v)
            except QuerySyntaxError as exc:
                raise ValueError(f"第{exc.line}行第{exc.column}列：{exc.reason}") from exc
        return v

    @field_validator("interpretation_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not re.match(r"https?://[^\s/]+", v):
            raise ValueError("解读链接须以 http:// 或 https:// 开头")
        return v

    @model_validator(mode="after")
    def _one_finder(self) -> Policy:
        if not self.scheme and not self.keywords.strip():
            raise ValueError("请选择监测方案或填写关键词（至少一项），否则找不到与该政策有关的信息")
        if self.scheme and self.keywords.strip():
            raise ValueError("监测方案和关键词只能填一项")
        return self

    @property
    def expr(self) -> Expr | None:
        return parse(self.keywords) if self.keywords.strip() else None

    @property
    def start(self) -> datetime:
        """Publication: local midnight of the publication day."""
        return datetime(self.published.year, self.published.month, self.published.day, tzinfo=TZ)

    def upcoming(self, at: datetime | None = None) -> bool:
        return self.start > (at or now())

    def matches(self, post: PostClassified) -> bool:
        """Is ``post`` about this policy: tagged with its scheme, or its keywords match the text."""
        if self.scheme:
            return self.scheme in post.schemes
        e = self.expr
        return e is not None and e.matches_text(normalise(f"{post.title}\n{post.content}"))

    def values(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in FIELDS}


def _label(loc: Sequence[Any]) -> str:
    return "、".join(LABELS.get(str(x), str(x)) for x in loc) or "政策"


def validate_all(rows: Iterable[Any], where: str = "policies") -> list[Policy]:
    """Validate every row; PolicyError lists all problems (nothing is half-accepted)."""
    out: list[Policy] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        label = f"{where}[{i}]"
        if isinstance(row, dict) and isinstance(row.get("title"), str):
            label += f"（{row['title'][:30]}）"
        try:
            p = row if isinstance(row, Policy) else Policy.model_validate(row)
        except ValidationError as exc:
            for e in exc.errors():
                msg = str(e["msg"]).removeprefix("Value error, ")
                if e["type"] == "missing":
                    msg = "必填"
                elif e["type"] == "extra_forbidden":
                    msg = "未知字段"
                elif e["type"] == "string_too_long":
                    msg = f"过长（最多 {e.get('ctx', {}).get('max_length')} 字）"
                elif e["type"] == "string_too_short":
                    msg = "必填"
                problems.append(f"{label} {_label(e['loc'])}: {msg}")
            continue
        if p.title in seen:
            problems.append(f"{label} 标题: 与 {where}[{seen[p.title]}] 重复")
            continue
        seen[p.title] = i
        out.append(p)
    if problems:
        raise PolicyError(problems)
    return out


# -- the table ------------------------------------------------------------------------------------

metadata = MetaData()
policies_table = Table(
    "yuqing_policies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(200), nullable=False, unique=True),
    Column("doc_number", String(100), nullable=False, default=""),
    Column("issuer", String(100), nullable=False),
    Column("published", Date, nullable=False),
    Column("scheme", String(60), nullable=False, default=""),
    Column("keywords", Text, nullable=False, default=""),
    Column("interpretation_url", String(500), nullable=False, default=""),
    Column("active", Boolean, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(100), nullable=False, default=""),
)
audit_table = Table(
    "yuqing_policies_audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("policy_id", Integer, nullable=True, index=True),
    Column("action", String(20), nullable=False),  # created, updated, deleted
    Column("by", String(100), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
)


@dataclass(frozen=True)
class AuditRow:
    policy_id: int | None
    action: str
    by: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _json(p: Policy | dict[str, Any] | None) -> dict[str, Any] | None:
    if p is None:
        return None
    d = p.values() if isinstance(p, Policy) else {k: p[k] for k in FIELDS}
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in d.items()}


def read_policies(engine: Any, *, active_only: bool = False) -> list[Policy]:
    """Policies through an engine opened elsewhere (the briefing's read-only one); none when the
    table does not exist yet. Creates nothing."""
    from sqlalchemy import inspect

    if not inspect(engine).has_table("yuqing_policies"):
        return []
    q = select(policies_table).order_by(policies_table.c.published.desc(), policies_table.c.id)
    if active_only:
        q = q.where(policies_table.c.active.is_(True))
    with engine.connect() as c:
        return [PolicyStore._row(r) for r in c.execute(q).mappings()]


def _local(dt: datetime) -> datetime:
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(TZ)


class PolicyStore:
    """``yuqing_policies`` in the database at ``url`` (SQLite or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = _engine(url)
            scheme_metadata.create_all(self.engine)
            metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise SchemeStoreError(f"cannot open the policies table: {exc}") from exc

    def close(self) -> None:
        self.engine.dispose()

    @staticmethod
    def _row(r: Any) -> Policy:
        return Policy.model_construct(**{"id": r["id"], **{k: r[k] for k in FIELDS}})

    def list(self, *, active_only: bool = False) -> list[Policy]:
        q = select(policies_table).order_by(policies_table.c.published.desc(), policies_table.c.id)
        if active_only:
            q = q.where(policies_table.c.active.is_(True))
        with self.engine.connect() as c:
            return [self._row(r) for r in c.execute(q).mappings()]

    def get(self, policy_id: int) -> Policy | None:
        with self.engine.connect() as c:
            r = c.execute(select(policies_table).where(policies_table.c.id == policy_id)).mappings().first()
        return self._row(r) if r else None

    def by_title(self, title: str) -> Policy | None:
        with self.engine.connect() as c:
            r = c.execute(select(policies_table).where(policies_table.c.title == title)).mappings().first()
        return self._row(r) if r else None

    def revision(self) -> int:
        with self.engine.connect() as c:
            v = c.execute(select(policies_table.c.revision).order_by(policies_table.c.revision.desc()).limit(1)).scalar()
            n = c.execute(select(audit_table.c.id).order_by(audit_table.c.id.desc()).limit(1)).scalar()
        return int(n or 0) * 1_000_000 + int(v or 0)  # moves on every save and delete

    def audit(self, policy_id: int | None = None) -> builtins.list[AuditRow]:
        q = select(audit_table).order_by(audit_table.c.id)
        if policy_id is not None:
            q = q.where(audit_table.c.policy_id == policy_id)
        with self.engine.connect() as c:
            rows = c.execute(q).mappings().all()
        # SQLite hands back naive UTC; shown in Asia/Shanghai like every time on the pages
        return [AuditRow(r["policy_id"], r["action"], r["by"], _local(r["at"]), r["before"], r["after"]) for r in rows]

    def save(self, policy: Policy | dict[str, Any], *, by: str = "") -> Policy:
        """Create (no ``id``) or update (``id``) one policy; returns it with its id."""
        return self._save([policy], by=by, by_title=False)[0][0]

    def save_all(self, policies: Sequence[Policy | dict[str, Any]], *, by: str = "") -> tuple[int, int]:
        """Import: validate all, then insert or update *by title* in one transaction. (created, updated)."""
        saved = self._save(policies, by=by, by_title=True)
        created = sum(1 for _, new in saved if new)
        return created, len(saved) - created

    def _save(self, rows: Sequence[Policy | dict[str, Any]], *, by: str, by_title: bool) -> builtins.list[tuple[Policy, bool]]:
        valid = validate_all(rows, where="政策" if len(rows) == 1 and not by_title else "policies")
        problems: builtins.list[str] = []
        out: builtins.list[tuple[Policy, bool]] = []
        try:
            with self.engine.begin() as c:
                known = set(c.execute(select(schemes_table.c.name)).scalars())
                rev = (
                    int(c.execute(select(policies_table.c.revision).order_by(policies_table.c.revision.desc()).limit(1)).scalar() or 0) + 1
                )
                for i, p in enumerate(valid):
                    where = f"政策[{i}]（{p.title[:30]}）" if len(valid) > 1 else "政策"
                    if p.scheme and p.scheme not in known:
                        problems.append(f"{where} 监测方案: 没有名为「{p.scheme}」的监测方案（先在“监测方案”中建立，或改填关键词）")
                        continue
                    stamp = {"revision": rev, "updated_at": datetime.now(UTC), "updated_by": by}
                    if by_title:
                        old = c.execute(select(policies_table).where(policies_table.c.title == p.title)).mappings().first()
                    elif p.id is not None:
                        old = c.execute(select(policies_table).where(policies_table.c.id == p.id)).mappings().first()
                        if old is None:
                            problems.append(f"{where}: 编号 {p.id} 的政策不存在（可能已被删除）")
                            continue
                    else:
                        old = None
                    if old is not None:
                        clash = c.execute(
                            select(policies_table.c.id).where(policies_table.c.title == p.title, policies_table.c.id != old["id"])
                        ).first()
                        if clash:
                            problems.append(f"{where} 标题: 已有同名政策")
                            continue
                        c.execute(policies_table.update().where(policies_table.c.id == old["id"]).values(**p.values(), **stamp))
                        saved = p.model_copy(update={"id": old["id"]})
                        c.execute(
                            audit_table.insert().values(
                                policy_id=old["id"],
                                action="updated",
                                by=by,
                                at=stamp["updated_at"],
                                before=_json(dict(old)),
                                after=_json(p),
                            )
                        )
                    else:
                        if c.execute(select(policies_table.c.id).where(policies_table.c.title == p.title)).first():
                            problems.append(f"{where} 标题: 已有同名政策")
                            continue
                        new_id = c.execute(policies_table.insert().values(**p.values(), **stamp)).inserted_primary_key[0]  # type: ignore[index]
                        saved = p.model_copy(update={"id": new_id})
                        c.execute(
                            audit_table.insert().values(
                                policy_id=new_id, action="created", by=by, at=stamp["updated_at"], before=None, after=_json(p)
                            )
                        )
                    out.append((saved, old is None))
                if problems:
                    raise PolicyError(problems)  # rolls the whole transaction back
        except IntegrityError as exc:
            raise PolicyError([f"政策 标题: 已有同名政策（{exc.orig}）"]) from exc
        except SQLAlchemyError as exc:
            raise SchemeStoreError(f"saving policies failed, nothing was saved: {exc}") from exc
        return out

    def delete(self, policy_id: int, *, by: str = "") -> bool:
        with self.engine.begin() as c:
            old = c.execute(select(policies_table).where(policies_table.c.id == policy_id)).mappings().first()
            if old is None:
                return False
            c.execute(policies_table.delete().where(policies_table.c.id == policy_id))
            c.execute(
                audit_table.insert().values(
                    policy_id=policy_id, action="deleted", by=by, at=datetime.now(UTC), before=_json(dict(old)), after=None
                )
            )
        return True


# -- YAML -----------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Dates stay text, so ``Policy`` judges them (PyYAML would raise on 2018-13-01)."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str, where: str = "policies.yaml") -> list[Policy]:
    """``policies: [{title, doc_number, issuer, published, scheme | keywords, interpretation_url, active}]``."""
    try:
        doc = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise PolicyError([f"{where}{at}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from exc
    rows: Any = doc.get("policies") if isinstance(doc, dict) else doc
    if not isinstance(rows, list):
        raise PolicyError([f"{where}: expected a list of policies (or a mapping with key 'policies'), found {type(rows).__name__}"])
    bad = [i for i, r in enumerate(rows) if isinstance(r, dict) and "id" in r]
    if bad:
        raise PolicyError([f"{where}[{i}] id: 导入按标题匹配，不能指定编号" for i in bad])
    return validate_all(rows, where=where)


def dump_yaml(policies: Sequence[Policy]) -> str:
    rows = []
    for p in policies:
        d: dict[str, Any] = {k: v for k, v in p.values().items() if v not in ("", None) or k in ("title", "issuer")}
        d["published"] = p.published.isoformat()
        rows.append(d)
    return yaml.safe_dump({"policies": rows}, allow_unicode=True, sort_keys=False, width=200)
