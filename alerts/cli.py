"""``yuqing rules ...`` and ``yuqing alerts ...``: dry-run rules, manage alerts, silences, inbox.

Output meant for staff is in Chinese; ``--json`` gives one JSON object per line.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from datetime import datetime
from typing import Any

import click

from alerts.store import STATUS_ZH, Alert, AlertStore
from yuqing.timeutil import now, parse_since

KIND_ZH = {"first": "首次", "repeat": "重复", "upgrade": "风险升级", "escalation": "升级", "test": "测试"}


def _ctx_settings() -> Any:
    ctx = click.get_current_context().find_root().obj
    return ctx.settings


def _when(value: str | None, default: datetime | None = None) -> datetime | None:
    if not value:
        return default
    dt = parse_since(value)
    if dt is None:
        raise click.BadParameter(f"{value!r}: use 24h, 7d, 2026-11-01 or an ISO time")
    return dt


def _fmt(at: datetime | None) -> str:
    return f"{at:%m-%d %H:%M}" if at is not None else "—"


def _store() -> AlertStore:
    from alerts.service import database_url

    return AlertStore(database_url(_ctx_settings()))


def _publish(store: AlertStore) -> None:
    """Send lifecycle events now; if the bus is down the running engine sends them later."""
    from yuqing.bus import open_bus
    from yuqing.errors import BusError
    from yuqing.runtime import bus_options

    s = _ctx_settings()
    try:
        bus = open_bus(s.bus.url, partitions=s.bus.partitions, **bus_options(s))
        try:
            store.outbox.flush(bus)
        finally:
            bus.close()
    except BusError as exc:
        click.echo(f"提示：消息总线暂不可用（{exc}），事件将由预警服务稍后发布", err=True)


# -- rules ----------------------------------------------------------------------------------
@click.group()
def rules() -> None:
    """Alert rules: check a rules file against recent posts."""


@rules.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--since", default="24h", show_default=True, help="replay posts published since (24h, 7d or a date)")
@click.option("--until", help="and before (a date); default now")
@click.option("--rule", "only", multiple=True, help="only these rules (by name)")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per alert")
def check(file: str, since: str, until: str | None, only: tuple[str, ...], as_json: bool) -> None:
    """Validate FILE, then replay the store's recent posts through it and print what would have fired."""
    from alerts.dryrun import dry_run, recent_posts
    from alerts.rules.registry import load_rules
    from alerts.service import make_renderer, web_base_url
    from yuqing.runtime import store_options
    from yuqing.store import open_store

    loaded = load_rules(file)
    if only:
        unknown = set(only) - {r.name for r in loaded}
        if unknown:
            raise click.BadParameter(f"no rule named {', '.join(sorted(unknown))} in {file}", param_hint="--rule")
        loaded = [r for r in loaded if r.name in only]
    s = _ctx_settings()
    start, end = _when(since), _when(until)
    assert start is not None
    store = open_store(s.store.url, refresh=s.store.refresh, **store_options(s))
    try:
        posts = recent_posts(store, start, end)
    finally:
        store.close()
    result = dry_run(loaded, s.alerts, posts, renderer=make_renderer(s.alerts, web_base_url(s)), until=end or now())
    if as_json:
        for a in result.alerts:
            ds = result.deliveries_of(a.id)
            row = {
                "alert_id": a.id,
                "rule": a.rule,
                "severity": a.severity,
                "labels": a.labels,
                "title": a.title,
                "metric": a.metric,
                "posts": a.post_count,
                "first_seen": a.first_seen.isoformat() if a.first_seen else None,
                "last_seen": a.last_seen.isoformat() if a.last_seen else None,
                "status": a.status,
                "suppressed": a.suppressed,
                "notifications": [
                    {"kind": d.kind, "notifier": d.notifier, "at": d.created_at.isoformat(), "title": d.notification["title"]} for d in ds
                ],
            }
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    click.echo(f"规则文件 {file}：{len(loaded)} 条规则有效")
    span = f"{start:%Y-%m-%d %H:%M} 至 {(end or now()):%Y-%m-%d %H:%M}"
    click.echo(f"回放 {span} 发布的 {result.posts} 条帖子（检索库 {s.store.url}）")
    notified = {d.key for d in result.deliveries}
    click.echo(f"将触发 {len(result.alerts)} 条预警，发出 {len(notified)} 次通知：")
    for a in result.alerts:
        ds = result.deliveries_of(a.id)
        keys = sorted({(d.created_at, d.kind, d.key) for d in ds})
        chans = sorted({d.notifier for d in ds})
        where = "，".join(f"{k}={v}" for k, v in a.labels.items() if k in ("event_id", "topic", "region", "source"))
        click.echo(f"  [{a.severity}] {a.rule}（{where}）：{a.title[:40]}  共 {a.post_count} 条")
        click.echo(f"       条件：{a.metric}")
        if keys:
            times = "、".join(f"{_fmt(t)}{KIND_ZH.get(k, k)}" for t, k, _ in keys)
            click.echo(f"       通知：{times} → {', '.join(chans)}")
        else:
            reason = a.suppressed or ("无匹配路由" if not a.notifiers else "仍在等待分组")
            click.echo(f"       未通知：{reason}")
    by_rule = Counter(a.rule for a in result.alerts)
    if by_rule:
        click.echo("按规则汇总：" + "，".join(f"{k} {v} 条" for k, v in by_rule.most_common()))
    silent = [r.name for r in loaded if r.name not in by_rule]
    if silent:
        click.echo("未触发：" + "、".join(silent))


# -- alerts ---------------------------------------------------------------------------------
@click.group("alerts")
def alerts_group() -> None:
    """Alerts: list, show, acknowledge, resolve; silences; the in-app inbox; test a channel."""


def _row(a: Alert) -> dict[str, Any]:
    return {
        "id": a.id,
        "rule": a.rule,
        "status": a.status,
        "severity": a.severity,
        "title": a.title,
        "labels": a.labels,
        "posts": a.post_count,
        "created_at": a.created_at.isoformat(),
        "notifications": a.notifications,
        "acked_by": a.acked_by,
        "acked_at": a.acked_at.isoformat() if a.acked_at else None,
        "resolved_by": a.resolved_by,
        "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
    }


@alerts_group.command("run")
def run_alerts() -> None:
    """Worker: only the alert engine (consume posts.classified, notify, publish alert events)."""
    import signal
    import threading

    from alerts.stage import start
    from yuqing.runtime import Runtime

    settings = _ctx_settings()
    runtime = Runtime(settings)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = start(runtime, None, stop)
    try:
        while not stop.wait(1.0):
            if threads and not threads[0].is_alive():
                raise click.ClickException("the alert engine stopped unexpectedly; see the log")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        runtime.close()


@alerts_group.command("list")
@click.option(
    "--status", type=click.Choice(["open", "pending", "firing", "acknowledged", "resolved", "all"]), default="open", show_default=True
)
@click.option("-n", "--limit", default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_alerts(status: str, limit: int, as_json: bool) -> None:
    """Alerts, newest first."""
    store = _store()
    rows = store.find(None if status == "all" else status, limit=limit)
    for a in rows:
        if as_json:
            click.echo(json.dumps(_row(a), ensure_ascii=False))
        else:
            click.echo(
                f"{a.id}  {_fmt(a.created_at)}  {STATUS_ZH.get(a.status, a.status)} [{a.severity}] {a.rule}：{a.title[:36]}（{a.post_count} 条）"
            )
    if not as_json:
        click.echo(f"共 {len(rows)} 条", err=True)


@alerts_group.command("show")
@click.argument("alert_id")
def show(alert_id: str) -> None:
    """One alert with its posts, deliveries and every delivery attempt."""
    store = _store()
    a = store.get(alert_id)
    click.echo(f"{a.id}  [{a.severity}] {a.rule}  {STATUS_ZH.get(a.status, a.status)}")
    click.echo(f"  标题：{a.title}")
    click.echo(f"  条件：{a.metric}")
    click.echo(f"  标签：{json.dumps(a.labels, ensure_ascii=False)}")
    click.echo(f"  帖子：{a.post_count} 条（负面 {a.negative_count}），首次 {_fmt(a.first_seen)}，最近 {_fmt(a.last_seen)}")
    if a.reasons:
        click.echo(f"  风险依据：{'；'.join(a.reasons)}")
    if a.acked_by:
        click.echo(f"  确认：{a.acked_by} 于 {_fmt(a.acked_at)}{('：' + a.ack_note) if a.ack_note else ''}")
    if a.resolved_by:
        click.echo(f"  解除：{a.resolved_by} 于 {_fmt(a.resolved_at)}{('：' + a.resolve_note) if a.resolve_note else ''}")
    if a.suppressed:
        click.echo(f"  暂缓通知：{a.suppressed}")
    for p in store.top_posts(a.id, 3):
        click.echo(f"  · {p['title'][:50]}（风险{p['risk_level']} {p['risk_score']}）{p['url'] or ''}")
    for d in store.deliveries(a.id):
        click.echo(f"  通知 {d.key} → {d.notifier}：{d.status}，尝试 {d.attempts} 次（{KIND_ZH.get(d.kind, d.kind)}）")
        for at in store.attempts(d.id):
            click.echo(f"      {_fmt(at.at)} 第 {at.attempt} 次 {'成功' if at.ok else '失败'}：{at.status}（{at.duration_ms:.0f} ms）")


@alerts_group.command("ack")
@click.argument("alert_id")
@click.option("--by", required=True, help="who takes it (name)")
@click.option("--note", default="")
def ack(alert_id: str, by: str, note: str) -> None:
    """Acknowledge a firing alert: no more repeats or escalation."""
    store = _store()
    a = store.acknowledge(alert_id, by, note)
    _publish(store)
    click.echo(f"已确认 {a.id}（{a.rule}），确认人 {by}")


@alerts_group.command("resolve")
@click.argument("alert_id")
@click.option("--by", required=True, help="who closes it (name)")
@click.option("--note", default="")
def resolve(alert_id: str, by: str, note: str) -> None:
    """Resolve an alert: new posts about the same thing start a new alert."""
    store = _store()
    a = store.resolve(alert_id, by, note)
    _publish(store)
    click.echo(f"已解除 {a.id}（{a.rule}），处理人 {by}")


@alerts_group.group("silence")
def silence() -> None:
    """Timed silences by label matchers."""


_MATCHER = re.compile(r"^([a-z_]+)=(.+)$")


@silence.command("add")
@click.option(
    "-m",
    "--match",
    "matchers",
    multiple=True,
    required=True,
    help="label=value or label=/regex/ (rule, severity, topic, region, source, event_id, unit)",
)
@click.option("--for", "duration", default="2h", show_default=True, help="how long (30m, 2h, 1d)")
@click.option("--by", required=True)
@click.option("--comment", default="")
def silence_add(matchers: tuple[str, ...], duration: str, by: str, comment: str) -> None:
    from yuqing.duration import parse_duration

    parsed: dict[str, str] = {}
    for m in matchers:
        mm = _MATCHER.match(m)
        if not mm:
            raise click.BadParameter(f"{m!r}: use label=value", param_hint="--match")
        parsed[mm.group(1)] = mm.group(2)
    try:
        span = parse_duration(duration)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--for") from None
    t = now()
    s = _store().add_silence(parsed, t, t + span, by, comment)
    click.echo(f"已静默 {s.id}：{parsed}，至 {_fmt(s.ends_at)}")


@silence.command("list")
@click.option("--all", "include_expired", is_flag=True)
def silence_list(include_expired: bool) -> None:
    for s in _store().list_silences(include_expired=include_expired):
        click.echo(
            f"{s.id}  {_fmt(s.starts_at)} → {_fmt(s.ends_at)}  {json.dumps(s.matchers, ensure_ascii=False)}  {s.created_by} {s.comment}"
        )


@silence.command("expire")
@click.argument("silence_id")
def silence_expire(silence_id: str) -> None:
    if not _store().expire_silence(silence_id, now()):
        click.echo(f"没有生效中的静默 {silence_id}", err=True)
        sys.exit(1)
    click.echo(f"已结束静默 {silence_id}")


@alerts_group.command("inbox")
@click.option("--box")
@click.option("--unread", is_flag=True)
@click.option("-n", "--limit", default=20, show_default=True)
def inbox_cmd(box: str | None, unread: bool, limit: int) -> None:
    """The in-app inbox (站内信)."""
    from alerts.service import database_url
    from notify.channels.inbox import Inbox

    ib = Inbox(database_url(_ctx_settings()))
    msgs = ib.messages(box, unread=unread, limit=limit)
    for m in msgs:
        mark = " " if m.read_at else "●"
        click.echo(f"{mark} {m.id:>5} {m.created_at:%m-%d %H:%M} [{m.box}] {m.title}")
    click.echo(f"未读 {ib.unread_count(box)} 条", err=True)


@alerts_group.command("test")
@click.argument("notifier")
def test_notifier(notifier: str) -> None:
    """Send a test notification through one configured channel, now, and report the reply."""
    from alerts.service import database_url, make_notifiers
    from notify.base import Notification

    s = _ctx_settings()
    names = [n.name for n in s.alerts.notifiers]
    if notifier not in names:
        raise click.BadParameter(f"no notifier {notifier!r}; configured: {', '.join(names)}")
    chans = make_notifiers(s.alerts, database_url(s))
    n = Notification(
        title="【测试】舆情预警通道测试",
        text="这是一条测试消息：通道配置正确。\n",
        markdown="### 【测试】舆情预警通道测试\n这是一条测试消息：通道配置正确。",
        html="<p>这是一条测试消息：通道配置正确。</p>",
        severity="低",
        key=f"test-{int(now().timestamp())}",
    )
    try:
        result = chans[notifier].send(n)
    finally:
        for c in chans.values():
            c.close()
    click.echo(f"{'成功' if result.ok else '失败'}：{result.status}")
    sys.exit(0 if result.ok else 1)
