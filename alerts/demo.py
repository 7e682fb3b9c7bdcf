"""The alerts step of ``yuqing demo``: the bundled rules over the demo's classified posts,
delivered to the in-app inbox (no network).

The demo's posts arrive all at once, so after consuming them the engine's clock is moved past
the longest group wait — as if the demo had waited that long — and due notifications are
delivered at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from alerts import db
from alerts.service import build_service, database_url
from alerts.stage import make_stage
from yuqing.runtime import Runtime
from yuqing.timeutil import now


def step(runtime: Runtime, echo: Callable[[str], None]) -> list[str]:
    settings = runtime.settings
    offset = [timedelta(0)]
    svc = build_service(settings, bus=runtime.bus, clock=lambda: now() + offset[0])
    try:
        before = {a.id for a in svc.store.find("open", limit=100_000)}
        stage = make_stage(svc, runtime)
        consumed = stage.drain(idle_polls=1, poll_timeout=0.2)
        stage.close()
        waits = [r.config.group_wait for r in svc.engine.rules if r.config.group_wait is not None] + [settings.alerts.group_wait]
        offset[0] = max(waits) + timedelta(seconds=1)
        svc.engine.tick()
        delivered = svc.deliverer.run_due()
        fired = [a for a in svc.store.find("open", limit=100_000) if a.id not in before and a.notifications]
        echo(f"      预警：{len(svc.engine.rules)} 条规则检查 {consumed} 条帖子，新触发 {len(fired)} 条预警，投递站内信 {delivered} 条")
        lines = ["", f"预警：新触发 {len(fired)} 条（规则文件 {settings.alerts.rules or 'alerts/default_rules.yaml'}，已投递到站内信）"]
        by_rule = Counter(a.rule for a in fired)
        if by_rule:
            lines.append("  按规则：" + "，".join(f"{k} {v}" for k, v in by_rule.most_common()))
        order = {"重大": 0, "高": 1, "中": 2, "低": 3}
        for a in sorted(fired, key=lambda a: (order.get(a.severity, 9), -a.post_count, a.created_at))[:8]:
            lines.append(f"  [{a.severity}] {a.rule}：{a.title[:30]}（{a.post_count} 条）  {a.id}")
        if len(fired) > 8:
            lines.append(f"  …… 其余 {len(fired) - 8} 条见 yuqing alerts list")
        lines.append("  查看：yuqing alerts list / yuqing alerts show ID / yuqing alerts inbox")
        return lines
    finally:
        svc.close()
        db.dispose(database_url(settings))
