"""Alert -> Notification, through Jinja2 templates (bundled in alerts/templates/, overridable).

A directory in ``alerts.templates`` is searched first, file by file: ``title.txt.j2``,
``text.txt.j2``, ``markdown.md.j2``, ``email.html.j2``. Only the HTML template is autoescaped.
Undefined variables are errors, and ``Renderer.check`` renders a sample at start-up so a broken
template fails ``yuqing run`` instead of the first real alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2

from alerts.store import Alert
from notify.base import Notification
from yuqing.errors import ConfigError
from yuqing.timeutil import from_epoch

BUNDLED = Path(__file__).resolve().parent / "templates"
TEMPLATES = ("title.txt.j2", "text.txt.j2", "markdown.md.j2", "email.html.j2")


def _fmt(at: datetime | None) -> str | None:
    return f"{at:%Y-%m-%d %H:%M}" if at is not None else None


class Renderer:
    def __init__(
        self,
        web_base_url: str,
        *,
        event_path: str = "/events/{event_id}",
        alert_path: str = "/alerts/{alert_id}",
        templates: str | None = None,
    ) -> None:
        self.base = web_base_url.rstrip("/")
        self.event_path = event_path
        self.alert_path = alert_path
        self.templates_dir = templates
        loaders: list[jinja2.BaseLoader] = []
        if templates:
            if not Path(templates).is_dir():
                raise ConfigError(f"templates directory {templates!r} does not exist", key="alerts.templates")
            loaders.append(jinja2.FileSystemLoader(templates))
        loaders.append(jinja2.FileSystemLoader(str(BUNDLED)))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=lambda name: bool(name and name.endswith(".html.j2")),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def url(self, alert: Alert) -> str:
        """The alert's page (its posts, its event, its cases; acknowledge and 立案 there)."""
        return self.base + self.alert_path.format(alert_id=alert.id)

    def event_url(self, alert: Alert) -> str | None:
        event_id = alert.labels.get("event_id")
        return self.base + self.event_path.format(event_id=event_id) if event_id else None

    def context(
        self, alert: Alert, posts: list[dict[str, Any]], kind: str, *, rule_description: str = "", escalation_after: str = ""
    ) -> dict[str, Any]:
        top = posts[0]["title"] if posts else alert.metric
        a = {
            "id": alert.id,
            "rule": alert.rule,
            "rule_type": alert.rule_type,
            "severity": alert.severity,
            "status": alert.status,
            "topic": alert.labels.get("topic"),
            "region": alert.labels.get("region"),
            "unit": alert.labels.get("unit"),
            "event_id": alert.labels.get("event_id"),
            "source": alert.labels.get("source"),
            "labels": alert.labels,
            "metric": alert.metric,
            "reasons": alert.reasons,
            "post_count": alert.post_count,
            "negative_count": alert.negative_count,
            "first_seen": _fmt(alert.first_seen),
            "last_seen": _fmt(alert.last_seen),
            "created": _fmt(alert.created_at),
            "notifications": alert.notifications,
        }
        ps = [
            {
                "id": p["post_id"],
                "title": p["title"],
                "url": p["url"],
                "risk_level": p["risk_level"],
                "risk_score": p["risk_score"],
                "published": _fmt(p["published_at"]),
                "negative": p["negative"],
            }
            for p in posts
        ]
        return {
            "alert": a,
            "posts": ps,
            "kind": kind,
            "headline": top,
            "url": self.url(alert),
            "event_url": self.event_url(alert),
            "rule_description": rule_description,
            "escalation_after": escalation_after,
        }

    def _render(self, name: str, ctx: dict[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(**ctx)
        except jinja2.TemplateError as exc:
            where = getattr(exc, "filename", None) or name
            raise ConfigError(f"alert template error: {exc}", file=str(where), key="alerts.templates") from exc

    def render(
        self, alert: Alert, posts: list[dict[str, Any]], kind: str, *, key: str, rule_description: str = "", escalation_after: str = ""
    ) -> Notification:
        ctx = self.context(alert, posts, kind, rule_description=rule_description, escalation_after=escalation_after)
        title = self._render("title.txt.j2", ctx).strip()
        ctx["title"] = title
        data = {
            "alert_id": alert.id,
            "kind": kind,
            "rule": alert.rule,
            "rule_type": alert.rule_type,
            "severity": alert.severity,
            "status": alert.status,
            "labels": alert.labels,
            "metric": alert.metric,
            "reasons": alert.reasons,
            "post_count": alert.post_count,
            "negative_count": alert.negative_count,
            "first_seen": alert.first_seen.isoformat() if alert.first_seen is not None else None,
            "last_seen": alert.last_seen.isoformat() if alert.last_seen is not None else None,
            "posts": [{k: p[k] for k in ("id", "title", "url", "risk_level", "risk_score", "published")} for p in ctx["posts"]],
            "url": ctx["url"],
            "event_url": ctx["event_url"],
        }
        return Notification(
            title=title,
            text=self._render("text.txt.j2", ctx).strip() + "\n",
            markdown=self._render("markdown.md.j2", ctx).strip(),
            html=self._render("email.html.j2", ctx),
            url=ctx["url"],
            severity=alert.severity,
            key=key,
            data=data,
        )

    def check(self) -> None:
        """Render a sample alert with every template (start-up validation)."""
        epoch = from_epoch(0)
        sample = Alert(
            id="al-sample",
            fingerprint="x",
            rule="示例规则",
            rule_type="any",
            status="firing",
            severity="高",
            labels={"event_id": "ev-sample", "topic": "工资拖欠"},
            title="",
            metric="示例",
            reasons=["示例"],
            post_count=1,
            negative_count=1,
            created_at=epoch,
            fired_at=epoch,
            first_seen=epoch,
            last_seen=epoch,
            last_hit_at=epoch,
            notify_at=epoch,
            notifications=0,
            first_notified_at=None,
            last_notified_at=None,
            notified_post_count=0,
            notified_severity=None,
            suppressed=None,
            notifiers=[],
            escalations=[],
            escalation_level=0,
            group_wait=timedelta(0),
            repeat_interval=timedelta(0),
            clears_itself=False,
            next_action_at=None,
        )
        post = {
            "post_id": "p",
            "title": "示例帖子",
            "url": None,
            "risk_level": "高",
            "risk_score": 60,
            "published_at": epoch,
            "negative": True,
        }
        for kind in ("first", "escalation"):
            self.render(sample, [post], kind, key="sample", escalation_after="30 分钟")
