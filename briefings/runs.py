"""Briefing runs: each 日报/周报/月报/专报 made is recorded (period, files, recipients, status),
archived under ``ledger.briefing.out_dir/<run id>-<kind>/`` and delivered through the
ledger's durable deliveries (``ledger.channels``): email with the PDF and Word files attached, robots a summary with a
link to the archive page. Delivery failures are retried by the ``ledger:deliveries`` job and
shown on ``/briefings``.

The table ``briefing_runs`` lives in the alerts database (``alerts.database_url``, by default the
ledger's own), beside the deliveries it refers to, outside the ledger's migrations (which see only
``ledger_*`` tables): it is created on first use.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, Float, Integer, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.engine import Engine

from briefings.build import midnight
from briefings.model import Period
from ledger.briefing_config import KINDS
from ledger.channels import LedgerDeliveries, channel_label, describe
from notify.base import Notification
from notify.store import Delivery
from yuqing.store import Store
from yuqing.timeutil import from_epoch, now

if TYPE_CHECKING:
    from app.settings import Settings  # a type only: stages do not import the application

log = logging.getLogger("briefings")

KIND_ZH = {**KINDS, "special": "专报", "manual": "简报"}
STATUS_ZH = {
    "making": "生成中",
    "failed": "生成失败",
    "made": "已生成（未配置接收方）",
    "sending": "发送中",
    "retrying": "发送失败，等待重试",
    "delivered": "已送达",
    "undelivered": "部分或全部发送失败",
}

metadata = MetaData()
runs = Table(
    "briefing_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # daily | weekly | monthly | special | manual
    Column("title", Text, nullable=False, default=""),
    Column("since", Float, nullable=False),
    Column("until", Float, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("status", String(20), nullable=False),
    Column("error", Text),
    Column("posts", Integer),
    Column("note", Text, nullable=False, default=""),
    Column("files", JSON, nullable=False, default=list),  # file names inside the run's directory
    Column("recipients", JSON, nullable=False, default=list),  # [{channel, who}]
    Column("units", JSON, nullable=False, default=list),  # units it was sent to (their users may open it)
    Column("event_id", String(200)),
)


@dataclass(frozen=True)
class Run:
    id: int
    kind: str
    title: str
    since: datetime
    until: datetime
    started_at: datetime
    finished_at: datetime | None
    status: str
    error: str | None
    posts: int | None
    note: str
    files: list[str]
    recipients: list[dict[str, str]]
    units: list[str]
    event_id: str | None
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def kind_zh(self) -> str:
        return KIND_ZH.get(self.kind, self.kind)

    @property
    def status_zh(self) -> str:
        return STATUS_ZH.get(self.status, self.status)

    @property
    def period(self) -> Period:
        return Period(self.since, self.until)

    @property
    def key(self) -> str:
        return delivery_key(self.id)


def delivery_key(run_id: int) -> str:
    return f"briefing:{run_id}"


def period_for(kind: str, at: datetime) -> Period:
    """日报: the day before ``at``; 周报: the 7 days before; 月报: the calendar month before."""
    end = midnight(at)
    if kind == "daily":
        return Period(end - timedelta(days=1), end)
    if kind == "weekly":
        return Period(end - timedelta(days=7), end)
    if kind == "monthly":
        first = end.replace(day=1)
        prev = (first - timedelta(days=1)).replace(day=1)
        return Period(prev, first)
    raise ValueError(f"unknown briefing kind {kind!r}; known: {', '.join(KINDS)}")


class Archive:
    """The record of runs and their files (``out_dir``), and the ledger's deliveries that deliver them."""

    def __init__(
        self,
        database_url: str,
        out_dir: str | Path,
        ledger_deliveries: LedgerDeliveries | None,
        base_url: str,
        *,
        settings: Settings | None = None,
    ) -> None:
        from notify import db

        self.engine: Engine = db.get_engine(database_url)  # same pooling and SQLite set-up as the alert tables
        metadata.create_all(self.engine)
        self.out_dir = Path(out_dir)
        self.ledger_deliveries = ledger_deliveries
        self.base_url = base_url.rstrip("/")
        self.settings = settings  # for briefings made on demand (the 简报 page's 专报)

    def _begin(self) -> Any:
        from notify import db

        return db.begin(self.engine)

    def start(self, kind: str, period: Period, *, title: str = "", units: Sequence[str] = (), event_id: str | None = None) -> int:
        row = {
            "kind": kind, "title": title, "since": period.since.timestamp(), "until": period.until.timestamp(),
            "started_at": now().timestamp(), "status": "making", "files": [], "recipients": [], "units": list(units),
            "event_id": event_id, "note": "",
        }  # fmt: skip
        with self._begin() as conn:
            return int(conn.execute(insert(runs).values(**row)).inserted_primary_key[0])

    def update(self, run_id: int, **values: Any) -> None:
        with self._begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(**values))

    def directory(self, run_id: int, kind: str) -> Path:
        return self.out_dir / f"{run_id:05d}-{kind}"

    def get(self, run_id: int) -> Run | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
        return self._run(row) if row else None

    def runs(self, limit: int = 200) -> list[Run]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs).order_by(runs.c.id.desc()).limit(limit)).mappings().all()
        return [self._run(r) for r in rows]

    def _run(self, r: Any) -> Run:
        since, until, started = from_epoch(r["since"]), from_epoch(r["until"]), from_epoch(r["started_at"])
        assert since is not None and until is not None and started is not None
        return Run(
            r["id"], r["kind"], r["title"], since, until, started, from_epoch(r["finished_at"]), r["status"], r["error"], r["posts"],
            r["note"] or "", list(r["files"] or []), list(r["recipients"] or []), list(r["units"] or []), r["event_id"],
        )  # fmt: skip

    def path(self, run: Run, name: str) -> Path | None:
        """The archived file ``name`` of ``run`` — only a name the run recorded, inside its directory."""
        if name not in run.files:
            return None
        p = self.directory(run.id, run.kind) / name
        return p if p.is_file() else None

    def with_deliveries(self, items: Sequence[Run]) -> builtins.list[Run]:
        """Runs with their deliveries and a delivery status as it is now (retries happen later)."""
        if self.ledger_deliveries is None:
            return list(items)
        found = self.ledger_deliveries.deliveries_for([r.key for r in items])
        out = []
        for r in items:
            ds = found.get(r.key, [])
            status = r.status
            if r.status in ("sending", "retrying", "delivered", "undelivered") and ds:
                status = _delivery_status(ds)
                if status != r.status:
                    self.update(r.id, status=status)
            out.append(Run(**{**r.__dict__, "deliveries": ds, "status": status}))
        return out


def _delivery_status(ds: Sequence[Delivery]) -> str:
    if all(d.status == "sent" for d in ds):
        return "delivered"
    if any(d.status == "pending" for d in ds):
        return "retrying" if any(d.attempts for d in ds if d.status == "pending") else "sending"
    return "undelivered"


def _summary(b: Any, url: str, note: str) -> tuple[str, str]:
    counts = f"帖文 {b.total.current} 条，负面 {b.negative.current} 条，研判建议 {len(b.recommendations)} 条"
    lines = [b.heading, f"统计时段：{b.period.label()}", note or counts]
    text = "\n".join(lines) + f"\n查看与下载：{url}"
    md = f"### {b.heading}\n\n- 统计时段：{b.period.label()}\n- {note or counts}\n\n[查看与下载（PDF、Word）]({url})"
    return text, md


def run_briefing(
    settings: Settings,
    store: Store,
    archive: Archive,
    kind: str,
    period: Period,
    *,
    units: Sequence[str] = (),
    pdf: bool | None = None,
    made_at: datetime | None = None,
    event_id: str | None = None,
) -> Run:
    """Make one briefing, record it, queue its deliveries and make the first attempt. A failure to
    make it is recorded (status 生成失败, the reason) and re-raised."""
    from briefings.build import write_pdf, write_word

    cfg = settings.ledger.briefing
    run_id = archive.start(kind, period, units=units, event_id=event_id)
    directory = archive.directory(run_id, kind)
    try:
        out = write_word(settings, store, period, directory, made_at=made_at)
        if cfg.pdf if pdf is None else pdf:
            out = write_pdf(settings, out)
    except Exception as exc:
        archive.update(run_id, status="failed", error=str(exc)[:1000], finished_at=now().timestamp())
        log.error("briefing run %d (%s) failed: %s", run_id, kind, exc)
        raise
    b = out.briefing
    files = [p.name for p in (out.pdf, out.docx) if p is not None]
    note = f"本期（{period.label()}）无帖文，简报照常生成并注明" if b.empty else ""
    url = f"{archive.base_url}/briefings#run-{run_id}"
    recipients: list[dict[str, str]] = []
    channels: list[str] = []
    if archive.ledger_deliveries is not None:
        ob = archive.ledger_deliveries
        configs = {f"ledger:briefing:{c.get('name') or c['type']}": c for c in cfg.recipients}
        channels = ob.briefing()
        recipients = [{"channel": channel_label(n), "who": describe(configs[n]) if n in configs else n} for n in channels]
        if units:
            target = ob.for_units(units)
            extra = [c for c in target.channels if c not in channels]
            channels += extra
            recipients += [{"channel": channel_label(n), "who": "单位渠道"} for n in extra]
            if target.notes:
                note = "；".join([n for n in [note, *target.notes] if n])
    text, md = _summary(b, url, note)
    status = "sending" if channels else "made"
    archive.update(
        run_id, title=b.heading, files=files, recipients=recipients, posts=b.total.current, note=note, status=status,
        finished_at=now().timestamp(),
    )  # fmt: skip
    if channels and archive.ledger_deliveries is not None:
        attachments = [str((directory / f).resolve()) for f in files]
        n = Notification(
            title=f"【{KIND_ZH.get(kind, kind)}】{b.heading}", text=text, markdown=md, url=url, severity="低",
            key=delivery_key(run_id), data={"briefing_run": run_id, "kind": kind}, attachments=attachments,
        )  # fmt: skip
        archive.ledger_deliveries.enqueue(delivery_key(run_id), "briefing", channels, n)
        archive.ledger_deliveries.run_due()
    run = archive.get(run_id)
    assert run is not None
    return archive.with_deliveries([run])[0]


def run_special(
    settings: Settings, store: Store, archive: Archive, event_id: str, *, pdf: bool | None = None, made_at: datetime | None = None
) -> Run:
    """专报 for one event (``briefings.special``), recorded and delivered like the others."""
    from briefings.special import EventStore, event_span, special_settings

    event_id = event_id.strip()
    period, title = event_span(store, event_id)
    return run_briefing(
        special_settings(settings, title), EventStore(store, event_id), archive, "special", period, pdf=pdf, made_at=made_at,
        event_id=event_id,
    )  # fmt: skip
