"""The alert engine: classified posts in, alerts with notifications and bus events out.

    handle(posts)  every rule observes each post (pure, in memory) -> hits
    tick()         time-based rules (flatline), then timers: group wait, repeats, escalation,
                   held notifications, auto-resolution

Both end in one database transaction that saves the rules' windows, the alerts, the
deliveries to make and the events to publish — so after a crash or restart nothing is lost and
nothing already sent is sent again: a redelivered bus batch finds its posts already counted
(windows de-duplicate by post id) and its notifications already recorded (deliveries are unique
by notification key and channel). Delivery itself happens outside, in ``notify.delivery``.

Time: windows use the posts' ``published_at``; everything about notifying uses the injectable
``clock``. ``yuqing rules check`` drives the same engine with the clock set to each post's time.
The alerts' timers (group wait, repeats, escalation, holds) are reckoned in aware datetimes, as
``alerts.store`` hands alerts out; the rules' windows count in epoch seconds (``PostRef.ts``, hot
arithmetic per post), and so do the tables: the store converts at its boundary.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from alerts import hygiene
from alerts.config import AlertsConfig
from alerts.events import AlertEscalated, AlertFired, AlertPost
from alerts.model import Clear, Hit, PostRef, max_severity, severity_rank
from alerts.render import Renderer
from alerts.routing import resolve_routes
from alerts.rules.base import Rule
from alerts.store import Alert, AlertStore, new_alert_id
from yuqing.bus import Bus
from yuqing.duration import chinese_duration
from yuqing.errors import BackendError
from yuqing.events import PostClassified
from yuqing.timeutil import TZ, from_epoch
from yuqing.timeutil import now as wall_now

log = logging.getLogger("yuqing.alerts")

Clock = Callable[[], datetime]
RECHECK = timedelta(seconds=60)  # before a held notification is judged again when its reason has no end time
NUDGE = timedelta(milliseconds=1)  # "just after now"


class Engine:
    def __init__(
        self,
        rules: Sequence[Rule],
        config: AlertsConfig,
        store: AlertStore,
        renderer: Renderer,
        *,
        clock: Clock = wall_now,
        bus: Bus | None = None,
        on_deliveries: Callable[[set[str]], None] | None = None,
    ) -> None:
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise ValueError("rule names must be unique")
        self.rules = list(rules)
        self.by_name = {r.name: r for r in rules}
        self.config = config
        self.store = store
        self.renderer = renderer
        self.clock = clock
        self.bus = bus
        self.on_deliveries = on_deliveries
        # Routes with ``to_unit``: unit -> its channel names, topic -> unit (set by build_service).
        self.unit_channels: dict[str, list[str]] = {}
        self.topic_units: dict[str, str] = {}
        self.stats: Counter[str] = Counter()
        # Called inside every write transaction before it commits (alerts.lease renews the lease
        # there, raising Fenced when another engine took over: the transaction then rolls back).
        self.fence: Callable[[Connection], None] | None = None
        self._touched: set[str] = set()
        self._load_windows()
        self._sync_config_silences()

    # -- state ------------------------------------------------------------------------------
    def reload(self) -> None:
        """Windows as the database has them (an engine taking over from another)."""
        self._load_windows()

    def _load_windows(self) -> None:
        for rule in self.rules:
            rule.windows.clear()
            rule.meta.clear()
            rule.load(self.store.load_windows(rule.name))
            rule.dump()  # nothing is dirty right after loading

    def _sync_config_silences(self) -> None:
        for i, s in enumerate(self.config.silences):
            sid = s.id or f"config-{i}"
            self.store.add_silence(dict(s.matchers), s.starts or from_epoch(0), s.ends, s.created_by, s.comment, silence_id=sid)

    # -- entry points -----------------------------------------------------------------------
    def handle(self, posts: Sequence[PostClassified]) -> None:
        now = self.clock()
        cutoff = (now - self.config.max_post_age).timestamp()
        outs: list[Hit | Clear] = []
        for post in sorted(posts, key=lambda p: (p.published_at, p.id)):
            ref: PostRef | None = None
            if post.published_at.timestamp() < cutoff:
                self.stats["too_old"] += 1
                continue
            for rule in self.rules:
                if rule.matches(post):
                    ref = ref or PostRef.of(post)
                    outs += rule.observe(post, ref)
        self.stats["posts"] += len(posts)
        self._commit(outs, now)

    def handle_ledger(self, events: Sequence[Any]) -> None:
        """Ledger events (``ledger.events``, bus topic ``ledger``): responses to an event go to the
        rules that follow them (``rebound``); the rest are ignored."""
        from alerts.rules.rebound import RESPONSE_EVENTS

        outs: list[Hit | Clear] = []
        for ev in events:
            if ev.type not in RESPONSE_EVENTS or not getattr(ev, "event_id", None):
                continue
            self.stats["responses"] += 1
            for rule in self.rules:
                note = getattr(rule, "note_response", None)
                if note is not None:
                    outs += note(ev.event_id, ev.at, ev.case_id, ev.case_number)
        self._commit(outs, self.clock())

    @property
    def follows_ledger(self) -> bool:
        """Whether a rule needs the ledger's events (the stage then consumes the topic ``ledger``)."""
        return any(hasattr(rule, "note_response") for rule in self.rules)

    def tick(self) -> None:
        now = self.clock()
        outs: list[Hit | Clear] = []
        for rule in self.rules:
            outs += rule.tick(now)
            rule.expire(now)
        self._commit(outs, now, scheduled=True)

    def _commit(self, outs: list[Hit | Clear], now: datetime, *, scheduled: bool = False) -> None:
        """One transaction for ``outs`` and whatever is due; then the events it wrote go to the
        bus (after an outage only the scheduled ``tick`` tries the bus again)."""
        now = now.astimezone(TZ)  # as the store hands times back, and the events say them (+08:00)
        self._touched = set()
        try:
            with self.store.begin() as conn:
                for rule in self.rules:
                    changes = rule.dump()
                    if changes:
                        self.store.save_windows_in(conn, rule.name, changes)
                for out in outs:
                    if isinstance(out, Hit):
                        self._apply_hit(conn, out, now)
                    else:
                        self._apply_clear(conn, out, now)
                for alert in self.store.due_in(conn, now):
                    self._act(conn, alert, now)
                if self.fence is not None:
                    self.fence(conn)
        except SQLAlchemyError as exc:
            # The windows in memory already counted these posts; reload them so the batch the
            # bus delivers again is counted again rather than skipped as a duplicate.
            self._load_windows()
            raise BackendError(
                f"alerts database {self.store.url.split('@')[-1]}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            ) from exc
        if self._touched and self.on_deliveries is not None:
            self.on_deliveries(set(self._touched))
        if scheduled:
            self.publish_events()
        else:
            self.store.outbox.flush_after_commit(self.bus)

    def publish_events(self) -> int:
        """Publish the events waiting in the outbox (every tick; after an outage, what waited).
        With the bus down they wait, said once per outage (``yuqing.outbox``)."""
        try:
            return self.store.outbox.flush_pending(self.bus)
        except SQLAlchemyError as exc:
            log.warning("alerts: events wait in the outbox (database: %s)", str(exc).splitlines()[0][:200])
            return 0

    # -- hits -------------------------------------------------------------------------------
    def fingerprint(self, rule: Rule, hit: Hit | Clear) -> str:
        return f"{rule.name}|{rule.key_str(hit.group)}"

    def _labels(self, rule: Rule, hit: Hit) -> dict[str, str]:
        labels = {k: v for k, v in hit.group if v}
        for key in ("topic", "region", "source"):
            # Only a value every post shares describes the alert (routes and silences rely on it).
            values = {getattr(p, key) for p in hit.posts}
            if key not in labels and len(values) == 1 and (value := values.pop()):
                labels[key] = value
        if rule.config.unit:
            labels.setdefault("unit", rule.config.unit)  # a rule grouping by unit (unanswered) names its own
        return labels

    def _apply_hit(self, conn: Connection, hit: Hit, now: datetime) -> None:
        rule = self.by_name[hit.rule]
        fp = self.fingerprint(rule, hit)
        alert = self.store.open_alert_in(conn, fp)
        if alert is None:
            gw = rule.config.group_wait if rule.config.group_wait is not None else self.config.group_wait
            ri = rule.config.repeat_interval if rule.config.repeat_interval is not None else self.config.repeat_interval
            labels = self._labels(rule, hit)
            severity = rule.config.severity or max_severity(*(p.risk_level for p in hit.posts))
            notifiers, escalations = resolve_routes(
                self.config.routes, labels, rule.name, severity, unit_channels=self.unit_channels, topic_units=self.topic_units
            )
            alert = Alert(
                id=new_alert_id(),
                fingerprint=fp,
                rule=rule.name,
                rule_type=rule.type,
                status="pending",
                severity=severity,
                labels=labels,
                title="",
                metric=hit.metric,
                reasons=[],
                post_count=0,
                negative_count=0,
                created_at=now,
                fired_at=None,
                first_seen=None,
                last_seen=None,
                last_hit_at=now,
                notify_at=now + gw,
                notifications=0,
                first_notified_at=None,
                last_notified_at=None,
                notified_post_count=0,
                notified_severity=None,
                suppressed=None,
                notifiers=notifiers,
                escalations=escalations,
                escalation_level=0,
                group_wait=gw,
                repeat_interval=ri,
                clears_itself=rule.clears_itself,
                next_action_at=now + gw,
            )
            self.store.insert_in(conn, alert)
            self.stats["alerts"] += 1
        self.store.attach_in(conn, alert.id, hit.posts, now)
        n, neg, first, last, levels = self.store.post_stats_in(conn, alert.id)
        alert.post_count, alert.negative_count = n, neg
        alert.first_seen, alert.last_seen = first, last
        alert.metric = hit.metric
        alert.last_hit_at = now
        if not rule.config.severity:
            alert.severity = max_severity(alert.severity, *levels)
        top = self.store.top_posts_in(conn, alert.id, 3)
        reasons = list(hit.extra_reasons) + [r for p in top for r in p["reasons"]]
        alert.reasons = list(dict.fromkeys([*alert.reasons, *reasons]))[:8]
        alert.title = top[0]["title"] if top else hit.metric
        alert.next_action_at = self._next_action(alert, now)
        if (
            alert.status in ("firing", "acknowledged")
            and alert.notifications
            and severity_rank(alert.severity) > severity_rank(alert.notified_severity)
        ):
            alert.next_action_at = now  # severity went up: tell people now
        self.store.save_in(conn, alert)

    def _apply_clear(self, conn: Connection, clear: Clear, now: datetime) -> None:
        rule = self.by_name[clear.rule]
        alert = self.store.open_alert_in(conn, self.fingerprint(rule, clear))
        if alert is not None:
            self.store.resolve_in(conn, alert, "system", clear.reason, now, automatic=True)
            self.stats["cleared"] += 1

    # -- timers -----------------------------------------------------------------------------
    def _suppression(self, conn: Connection, alert: Alert, now: datetime) -> tuple[str | None, datetime | None]:
        """(reason, when it ends if known) for holding a notification now."""
        s = hygiene.silenced_by(alert, self.store.silences_in(conn, now), now)
        if s is not None:
            return f"silenced:{s.id}", s.ends_at
        for rule in self.config.inhibit:
            if severity_rank(alert.severity) < severity_rank(rule.source_severity):
                other = hygiene.inhibited_by(alert, rule, self.store.open_with_severity_in(conn, rule.source_severity, alert.id))
                if other is not None:
                    return f"inhibited:{other.id}", None
        if hygiene.quiet(alert, self.config.quiet_hours, now):
            return "quiet_hours", self.config.quiet_hours.ends_after(now)
        return None, None

    def _act(self, conn: Connection, alert: Alert, now: datetime) -> None:
        if not alert.clears_itself and now >= alert.last_hit_at + self.config.auto_resolve_after:
            note = f"{chinese_duration(self.config.auto_resolve_after)}内无新帖，自动解除"
            self.store.resolve_in(conn, alert, "system", note, now, automatic=True)
            self.stats["auto_resolved"] += 1
            return
        held_until: datetime | None = None
        if alert.status == "pending" and now >= alert.notify_at:
            alert.status, alert.fired_at = "firing", now
            reason, held_until = self._suppression(conn, alert, now)
            alert.suppressed = reason
            self._fired_event(conn, alert, now)
            if reason is None:
                self._notify(conn, alert, "first", now)
        elif alert.status in ("firing", "acknowledged"):
            kind = None
            if alert.notifications == 0:
                kind = "first"
            elif severity_rank(alert.severity) > severity_rank(alert.notified_severity):
                kind = "upgrade"
            elif (
                alert.status == "firing"
                and alert.post_count > alert.notified_post_count
                and (alert.last_notified_at is None or now >= alert.last_notified_at + alert.repeat_interval)
            ):
                kind = "repeat"
            if kind is not None:
                reason, held_until = self._suppression(conn, alert, now)
                alert.suppressed = reason
                if reason is None:
                    self._notify(conn, alert, kind, now)
            if alert.status == "firing" and alert.notifications and alert.escalation_level < len(alert.escalations):
                after, targets = alert.escalations[alert.escalation_level]
                if now >= (alert.first_notified_at or now) + timedelta(seconds=float(after)):
                    reason, until = self._suppression(conn, alert, now)
                    if reason is None:
                        self._escalate(conn, alert, float(after), list(targets), now)
                    else:
                        held_until = min(x for x in (held_until, until, now + RECHECK) if x is not None)
        nxt = self._next_action(alert, now, held_until)
        # Whatever was due has just been done or held; a time still in the past means held (e.g. an
        # escalation during quiet hours): look again when the hold ends, not at every commit.
        if nxt is not None and nxt <= now:
            nxt = max(held_until, now + NUDGE) if held_until else now + RECHECK
        alert.next_action_at = nxt
        self.store.save_in(conn, alert)

    def _next_action(self, alert: Alert, now: datetime, held_until: datetime | None = None) -> datetime | None:
        if alert.status not in ("pending", "firing", "acknowledged"):
            return None
        times: list[datetime] = []
        if not alert.clears_itself:
            times.append(alert.last_hit_at + self.config.auto_resolve_after)
        if alert.status == "pending":
            times.append(alert.notify_at)
        elif alert.suppressed is not None:
            times.append(max(now + NUDGE, min(held_until or now + RECHECK, now + RECHECK * 60)))
        else:
            if alert.status == "firing" and alert.notifications and alert.post_count > alert.notified_post_count:
                times.append((alert.last_notified_at or now) + alert.repeat_interval)
            if alert.status == "firing" and alert.notifications and alert.escalation_level < len(alert.escalations):
                times.append((alert.first_notified_at or now) + timedelta(seconds=float(alert.escalations[alert.escalation_level][0])))
        return min(times) if times else None

    # -- notifying --------------------------------------------------------------------------
    def _notify(self, conn: Connection, alert: Alert, kind: str, now: datetime) -> None:
        # Severity may have changed since the alert was created: route on what it is now.
        alert.notifiers, escalations = resolve_routes(
            self.config.routes, alert.labels, alert.rule, alert.severity, unit_channels=self.unit_channels, topic_units=self.topic_units
        )
        if not alert.notifications:
            alert.escalations = escalations
        alert.notifications += 1
        alert.first_notified_at = alert.first_notified_at or now
        alert.last_notified_at = now
        alert.notified_post_count = alert.post_count
        alert.notified_severity = alert.severity
        alert.suppressed = None
        self._deliver(conn, alert, kind, f"{alert.id}:{alert.notifications}", alert.notifiers, now)
        self.stats[f"notify_{kind}"] += 1

    def _escalate(self, conn: Connection, alert: Alert, after: float, targets: list[str], now: datetime) -> None:
        alert.escalation_level += 1
        self._deliver(
            conn, alert, "escalation", f"{alert.id}:e{alert.escalation_level}", targets, now, escalation_after=chinese_duration_s(after)
        )
        self.store.add_event_in(
            conn, AlertEscalated(alert_id=alert.id, rule=alert.rule, at=now, level=alert.escalation_level, notifiers=targets)
        )
        self.stats["escalations"] += 1

    def _deliver(
        self, conn: Connection, alert: Alert, kind: str, key: str, notifiers: list[str], now: datetime, escalation_after: str = ""
    ) -> None:
        if not notifiers:
            log.warning("alerts: alert %s (%s) matches no route: nobody is notified", alert.id, alert.rule)
            return
        rule = self.by_name.get(alert.rule)
        posts = self.store.top_posts_in(conn, alert.id, 3)
        n = self.renderer.render(
            alert, posts, kind, key=key, rule_description=rule.config.description if rule else "", escalation_after=escalation_after
        )
        payload = {
            "title": n.title,
            "text": n.text,
            "markdown": n.markdown,
            "html": n.html,
            "url": n.url,
            "severity": n.severity,
            "key": n.key,
            "data": n.data,
        }
        for name in notifiers:
            self.store.add_delivery_in(conn, alert.id, key, kind, name, payload, now)
            self._touched.add(name)

    def _fired_event(self, conn: Connection, alert: Alert, now: datetime) -> None:
        posts = self.store.top_posts_in(conn, alert.id, 3)
        self.store.add_event_in(
            conn,
            AlertFired(
                alert_id=alert.id,
                rule=alert.rule,
                at=now,
                rule_type=alert.rule_type,
                title=alert.title,
                severity=alert.severity,  # type: ignore[arg-type]
                labels=alert.labels,
                topic=alert.labels.get("topic"),
                region=alert.labels.get("region"),
                unit=alert.labels.get("unit"),
                event_id=alert.labels.get("event_id"),
                reasons=alert.reasons,
                metric=alert.metric,
                post_count=alert.post_count,
                negative_count=alert.negative_count,
                first_seen=alert.first_seen,
                last_seen=alert.last_seen,
                posts=[
                    AlertPost(
                        id=p["post_id"],
                        title=p["title"],
                        url=p["url"],
                        published_at=p["published_at"],
                        risk_level=p["risk_level"],
                        risk_score=p["risk_score"],
                    )
                    for p in posts
                ],
                url=self.renderer.url(alert),
                suppressed=alert.suppressed,
            ),
        )


def chinese_duration_s(seconds: float) -> str:
    return chinese_duration(timedelta(seconds=seconds))
