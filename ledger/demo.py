"""The ledger's step in ``yuqing demo``: units from the county plan, demo accounts, and cases opened
from the riskiest events the demo just classified, taken through different stages of the lifecycle
so the web UI shows every kind of row (one reaches the public page, one is overdue)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ledger.db import Database
from ledger.errors import InvalidInput
from ledger.intake import case_from_post
from ledger.schemas import CaseAction, CommitmentAction, NewCommitment
from ledger.service import LedgerService
from ledger.states import SYSTEM, Role
from yuqing.runtime import Runtime
from yuqing.store import Query

DEMO_PASSWORD = "yuqing-demo"
# Units named in 彭府办字〔2023〕68号.
UNITS = [
    "县政府办",
    "县数字经济发展中心",
    "县人力资源和社会保障局",
    "县生态环境局",
    "县市场监管局",
    "县住房和城乡建设局",
    "县教体局",
    "县卫健委",
    "县应急管理局",
    "县民政局",
]
TOWNS = ["龙城镇", "马当镇", "定山镇", "芙蓉墩镇"]
ACCOUNTS = [
    ("admin", Role.ADMIN, None, "系统管理员"),
    ("jiance", Role.MONITOR, None, "舆情监测员"),
    ("lingdao", Role.LEADER, None, "分管领导"),
    ("shengtai", Role.UNIT, "县生态环境局", "生态环境局联络员"),
    ("renshe", Role.UNIT, "县人力资源和社会保障局", "人社局联络员"),
    ("zhengfuban", Role.UNIT, "县政府办", "政府办联络员"),
]
# What a unit typically promises, per topic.
PROMISES = {
    "环境污染和生态破坏": "组织执法人员现场核查，10 个工作日内完成整改并公开监测结果",
    "工资拖欠": "督促用工单位 15 个工作日内结清拖欠工资，逾期依法移送",
    "房地产金融": "约谈开发企业，明确交房与办证时间表并向业主公开",
    "食品药品安全": "开展专项抽检，结果在县政府网站公开",
    "教育医疗养老": "核实情况并于 10 个工作日内书面答复，整改措施向社会公开",
    "安全生产": "立即组织隐患排查，整改完成后公开验收结果",
    "困难群众生活": "入户核实困难情况，符合条件的纳入救助并回访",
    "其他": "转相关部门核实办理，10 个工作日内答复并公开办理结果",
}


def step(runtime: Runtime, echo: Callable[[str], None], *, classify: Callable[[Any], Any] | None = None) -> list[str]:
    """Units, accounts and cases for the demo. ``classify`` (the processors' classifier, passed in
    by the application) lets it also seed the two 回应效果 stories; without it they are left out."""
    settings = runtime.settings
    db = Database(settings.database.url)
    db.migrate()
    svc = LedgerService(db, settings.ledger, bus=runtime.bus)
    try:
        return _seed(svc, runtime, echo, classify)
    finally:
        db.close()


def _seed(svc: LedgerService, runtime: Runtime, echo: Callable[[str], None], classify: Callable[[Any], Any] | None) -> list[str]:
    cfg = svc.config
    for name in UNITS:
        if svc.unit_by_name(name) is None:
            svc.create_unit(SYSTEM, name, "部门")
    for name in TOWNS:
        if svc.unit_by_name(name) is None:
            svc.create_unit(SYSTEM, name, "乡镇")
    units = {u.name: u.id for u in svc.list_units()}
    existing = {u.username for u in svc.list_users(SYSTEM)}
    for username, role, unit, display in ACCOUNTS:
        if username not in existing:
            svc.create_user(SYSTEM, username, DEMO_PASSWORD, role, unit_id=units[unit] if unit else None, display_name=display)
    monitor = svc.authenticate("jiance", DEMO_PASSWORD)
    assert monitor is not None

    # The riskiest posts, one per event.
    posts, seen = [], set()
    for level in ("重大", "高", "中"):
        for p in runtime.store.search(Query(risk_level=level, limit=100)).hits:
            if p.event_id not in seen:
                seen.add(p.event_id)
                posts.append(p)
    posts = posts[:6]
    echo(f"      台账：从 {len(posts)} 个高风险事件立案，交办 {len({cfg.topic_units.get(p.topic, '县政府办') for p in posts})} 个单位")
    created = []
    for i, post in enumerate(posts):
        unit_name = cfg.topic_units.get(post.topic, "县政府办")
        unit_id = units.get(unit_name) or units["县政府办"]
        # One case is registered as if 20 days ago, so the demo shows an overdue case and its escalation.
        clock = (lambda: svc.clock() - timedelta(days=20)) if i == len(posts) - 1 else svc.clock
        past = LedgerService(svc.db, cfg, bus=svc.bus, clock=clock)
        try:
            case = past.create_case(monitor, case_from_post(post, cfg, unit_id=unit_id))
        except InvalidInput:  # already opened by an earlier run of the demo
            continue
        created.append(case)
        unit_actor = _unit_actor(svc, unit_id)
        if unit_actor is None or i >= 3:
            continue  # left 已交办 (or overdue) for the unit to pick up in the UI
        case = svc.act(unit_actor, case.id, CaseAction(action="accept", version=case.version))
        if i == 2:
            svc.act(
                unit_actor,
                case.id,
                CaseAction(action="request_extension", version=case.version, extension_days=5, note="需协调上级部门现场核查"),
            )
            continue
        com = svc.add_commitment(
            unit_actor, case.id, NewCommitment(version=case.version, content=PROMISES.get(post.topic, PROMISES["其他"]), due_workdays=10)
        )
        case = svc.get_case(unit_actor, case.id)
        case = svc.act(
            unit_actor,
            case.id,
            CaseAction(action="respond", version=case.version, response="您反映的问题已收悉，我单位已安排专人核实处理，承诺事项见台账。"),
        )
        case = svc.act(unit_actor, case.id, CaseAction(action="track", version=case.version))
        if i == 0:
            com = svc.act_on_commitment(
                unit_actor,
                com.id,
                CommitmentAction(
                    action="fulfil",
                    version=com.version,
                    fulfilment="已完成现场核查和整改，相关情况已书面答复反映人（联系电话 13907921234）。",
                    evidence_links=["https://www.pengze.gov.cn/"],
                ),
            )
            svc.act_on_commitment(
                monitor,  # only the office publishes (docs/ledger.md, "Decisions")
                com.id,
                CommitmentAction(
                    action="disclose",
                    version=com.version,
                    disclosure_channel="彭泽县人民政府网站",
                    disclosure_url="https://www.pengze.gov.cn/",
                ),
            )
    # Two stories placed days back, so the case page shows a settled 回应效果 (ledger.effect_demo).
    from ledger.effect_demo import seed_stories

    effects = seed_stories(svc, runtime, monitor, lambda unit_id: _unit_actor(svc, unit_id), classify) if classify else []
    from ledger.reminders import run_reminders

    report = run_reminders(svc, [])
    lines = [
        f"台账：新立案 {len(created)} 件（{'、'.join(c.number or '' for c in created)}），超期督办 {len(report.escalated)} 条，到期提醒 {len(report.reminded)} 条",
        "打开台账网页：在工作目录运行 yuqing ledger serve，浏览器访问 http://127.0.0.1:8600/ （公开页 /public，接口文档 /api/docs）",
        f"演示账号（密码均为 {DEMO_PASSWORD}）：admin 管理员，jiance 监测员，lingdao 领导，shengtai 生态环境局，renshe 人社局，zhengfuban 政府办",
    ]
    if effects:
        lines.append(f"回应效果：{'；'.join(effects)}（案件页与简报「回应效果」）")
    return lines


def _unit_actor(svc: LedgerService, unit_id: int):  # type: ignore[no-untyped-def]
    for u in svc.list_users(SYSTEM):
        if u.unit_id == unit_id and u.active:
            return svc.actor(u.id)
    return None
