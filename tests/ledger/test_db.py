"""Migrations, the doctor check, and the service as ``yuqing run``, the demo and the CLI use it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect

from app.cli import main
from app.settings import BusConfig, DatabaseConfig, Settings, StoreConfig
from ledger.db import VERSION_TABLE, Database, DatabaseError, check_database, current_revision, downgrade, head_revision, migrate
from ledger.tables import Base
from tests.ledger.conftest import Env, free_port
from yuqing.events import PostClassified
from yuqing.runtime import Runtime


def test_migrations_match_the_models(env: Env) -> None:
    def ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        # The database is shared (the alert engine keeps alert_* tables there): compare only the ledger's.
        return type_ != "table" or bool(name and name.startswith("ledger_"))

    with env.db.engine.connect() as conn:
        opts = {"compare_type": True, "version_table": VERSION_TABLE, "include_object": ours}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == []
    assert current_revision(env.db.engine) == head_revision() == "0002"
    assert check_database(env.url).endswith("ledger schema at 0002 (newest)")


def test_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/l.db")
    migrate(db.engine)
    downgrade(db.engine, "base")
    assert [t for t in inspect(db.engine).get_table_names() if t.startswith("ledger_") and t != "ledger_alembic_version"] == []
    assert check_database(db.url).endswith("ledger schema not created yet (created by `yuqing ledger migrate` or at start)")
    assert migrate(db.engine) == "0002"
    db.close()


def test_check_database_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match=r"^cannot reach the ledger database: connection failed: .*127.0.0.1.*port 9"):
        check_database("postgresql+psycopg://postgres@127.0.0.1:9/none")
    with pytest.raises(Exception, match="unsupported database 'mysql'"):
        check_database("mysql://x/y")


def _settings(tmp_path: Path, port: int) -> Settings:
    return Settings(
        bus=BusConfig(url=f"sqlite:///{tmp_path}/bus.db"),
        store=StoreConfig(url=f"sqlite:///{tmp_path}/store.db"),
        database=DatabaseConfig(url=f"sqlite:///{tmp_path}/ledger.db"),
        state_url=f"sqlite:///{tmp_path}/state.db",
        ledger={"port": port},
    )  # type: ignore[arg-type]


def test_yuqing_run_serves_the_ledger_and_schedules_its_jobs(tmp_path: Path) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from app.run import start_all

    port = free_port()
    runtime = Runtime(_settings(tmp_path, port))
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    stop = threading.Event()
    threads = start_all(runtime, scheduler, stop, stages=["ledger.stage:start", "web.stage:start"])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the ledger did not start"
                time.sleep(0.05)
        assert r.json() == {"ok": True}
        assert httpx.get(f"http://127.0.0.1:{port}/cases").status_code == 303
        assert sorted(j.id for j in scheduler.get_jobs()) == ["ledger:deliveries", "ledger:outbox", "ledger:reminders"]
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        runtime.close()
    assert not any(t.is_alive() for t in threads)


def _posts(n: int) -> list[PostClassified]:
    from tests.ledger.test_web import seed_post

    class Keep:
        def __init__(self) -> None:
            self.posts: list[PostClassified] = []

        def write(self, posts: list[PostClassified]) -> None:
            self.posts += posts

    keep = Keep()
    for i in range(n):
        seed_post(keep, f"demo{i}", title=f"演示事件{i}")  # type: ignore[arg-type]
    return keep.posts


def test_demo_step_seeds_cases_from_the_riskiest_events(tmp_path: Path) -> None:
    from ledger.demo import step
    from ledger.states import SYSTEM
    from processors.classify import Classifier
    from web import create_app

    runtime = Runtime(_settings(tmp_path, 0))
    runtime.store.write(_posts(8))
    lines = step(runtime, lambda s: None, classify=Classifier(runtime.settings.processors).classify)
    assert lines[0].startswith("台账：新立案 6 件（") and "超期督办 1 条" in lines[0]
    assert "yuqing ledger serve" in lines[1] and "http://127.0.0.1:8600/" in lines[1]
    assert (
        lines[2]
        == "演示账号（密码均为 yuqing-demo）：admin 管理员，jiance 监测员，lingdao 领导，shengtai 生态环境局，renshe 人社局，zhengfuban 政府办"
    )
    # Two stories placed days back show a settled 回应效果 (ledger.effect_demo).
    assert lines[3].startswith("回应效果：YQ-2026-00007 平息（回应前 72 小时 6 条") and "；YQ-2026-00008 升温（" in lines[3]
    from ledger.stage import open_service

    svc = open_service(runtime.settings)
    page = svc.list_cases(SYSTEM)
    assert page.total == 8
    statuses = ["assigned", "assigned", "assigned", "disclosed", "fulfilling", "in_progress", "responded", "responded"]
    assert sorted(c.status for c in page.items) == statuses
    assert svc.list_cases(SYSTEM, overdue=True).total == 1
    assert len(svc.disclosed_commitments()) == 1
    assert {c.unit.name for c in page.items if c.unit and c.status != "responded"} == {"县人力资源和社会保障局"}
    assert create_app(svc) is not None
    assert step(runtime, lambda s: None)[0].startswith("台账：新立案 0 件")  # a second run adds nothing
    runtime.close()


def test_cli_sets_up_units_users_tokens_and_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_DATABASE__URL", f"sqlite:///{tmp_path}/ledger.db")
    run = CliRunner().invoke
    assert run(main, ["ledger", "migrate"]).output == "ledger schema at 0002\n"
    r = run(main, ["ledger", "units", "add", "县生态环境局", "县民政局"])
    assert r.exit_code == 0 and r.output == "1\t县生态环境局\n2\t县民政局\n"
    r = run(
        main, ["ledger", "users", "add", "sthj", "--role", "unit", "--unit", "县生态环境局"], input="a-long-password\na-long-password\n"
    )
    assert r.exit_code == 0 and "已添加用户 sthj（unit）" in r.output
    r = run(main, ["ledger", "users", "add", "x", "--role", "unit", "--unit", "没有的单位", "--password", "a-long-password"])
    assert r.exit_code == 2 and "no unit '没有的单位'" in r.output
    r = run(main, ["ledger", "token", "sthj", "--name", "12345 平台"])
    assert r.exit_code == 0 and r.output.startswith("yql_")
    r = run(main, ["ledger", "export", "-o", str(tmp_path / "t.xlsx"), "--unit", "县民政局", "--overdue"])
    assert r.exit_code == 0 and r.output == f"已导出 0 件到 {tmp_path / 't.xlsx'}\n" and (tmp_path / "t.xlsx").stat().st_size > 0
    r = run(main, ["ledger", "remind"])
    assert r.output == "提醒 0 条，超期督办 0 条，发送失败 0 条\n"
