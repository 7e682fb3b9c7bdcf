"""``yuqing schemes import|export|list|check|preview|backfill`` on the default (embedded) databases:
an import saves every scheme or none and names each problem; export reads back; check and preview
query the store; the backfill tags what the schemes match."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from app.cli import main
from processors.classify import Classifier
from schemes.store import SchemeStore
from tests.core.test_store_contract import _collected
from yuqing.store import Query, open_store
from yuqing.timeutil import now

ROOT = Path(__file__).resolve().parents[2]
DEMO_SCHEMES = ROOT / "yuqing" / "demo" / "schemes.yaml"
DEMO_POSTS = ROOT / "yuqing" / "demo" / "wenzheng.jsonl"


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def names() -> list[str]:
    table = SchemeStore("sqlite:///yuqing-data/ledger.db")
    try:
        return [s.name for s in table.list()]
    finally:
        table.close()


def test_import_list_export_round_trip(tmp_path: Path) -> None:
    assert run("schemes", "import", str(DEMO_SCHEMES))[:2] == (0, "imported 3 scheme(s): 3 new, 0 updated\n")
    code, out, _ = run("schemes", "list")
    assert code == 0 and [line.split("\t")[:3] for line in out.splitlines()] == [
        ["噪音扰民", "县生态环境局", "启用"],
        ["教育收费", "县教体局", "启用"],
        ["欠薪讨薪", "县人社局", "启用"],
    ]
    assert run("schemes", "export", "-o", "out.yaml")[0] == 0
    exported = (tmp_path / "out.yaml").read_text(encoding="utf-8")
    assert exported.startswith("schemes:\n") and "name: 欠薪讨薪" in exported and "- 招聘" in exported
    assert run("schemes", "import", "out.yaml")[:2] == (0, "imported 3 scheme(s): 0 new, 3 updated\n")
    assert names() == ["噪音扰民", "教育收费", "欠薪讨薪"]


def test_a_bad_file_saves_nothing_and_names_every_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "schemes:\n"
        "  - {name: 好方案, include: 噪音}\n"
        "  - {name: 括号, include: '噪音 (扰民'}\n"
        "  - {name: 空, include: '  '}\n"
        "  - {name: 慢, include: '/(a+)+$/'}\n"
        "  - {name: 好方案, include: 噪声}\n"
        "  - {name: 主题, include: 噪音, topics: [天气]}\n",
        encoding="utf-8",
    )
    code, _, err = run("schemes", "import", "bad.yaml")
    assert code == 2 and err.startswith("5 problem(s), nothing saved:\n")
    assert "bad.yaml[1] (括号) include: line 1, column 4: '(' has no closing ')'" in err
    assert "bad.yaml[2] (空) include: include expression is empty" in err
    assert "bad.yaml[3] (慢) include:" in err and "exponential time" in err
    assert "bad.yaml[4] (好方案) name: duplicate of bad.yaml[0]" in err
    assert "bad.yaml[5] (主题) topics: unknown topic(s) 天气; topics are 房地产金融, 工资拖欠" in err
    assert names() == []
    assert run("schemes", "check", "bad.yaml", "--no-preview")[0] == 2


def test_check_preview_and_backfill_against_the_store(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in DEMO_POSTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    t = now()
    posts = [
        p.model_copy(update={"published_at": t - timedelta(hours=i + 1)})
        for i, p in enumerate(Classifier().classify_many(_collected({"source": "demo"} | r) for r in rows))
    ]
    store = open_store("sqlite:///yuqing-data/store.db")
    store.write(posts)
    store.close()
    (tmp_path / "s.yaml").write_text(
        "schemes:\n  - {name: 噪音, include: 噪音 噪声 扰民}\n  - {name: 全部, include: '!xyzzy'}\n", encoding="utf-8"
    )
    code, out, err = run("schemes", "check", "s.yaml", "--days", "30")
    assert code == 1 and "s.yaml: 2 scheme(s), all valid" in out  # valid, but one matches everything
    assert f"  全部: {len(posts)} post(s) in the last 30 days of {len(posts)}" in out and "warning: 全部:" in err
    assert names() == []  # check saves nothing

    assert run("schemes", "import", "s.yaml")[0] == 0
    code, out, _ = run("schemes", "preview", "噪音", "--days", "30", "--samples", "3")
    assert code == 0 and out.startswith("噪音: ") and out.count("  · ") == 3
    assert run("schemes", "preview", "没有")[0] == 1

    code, out, err = run("schemes", "backfill", "--batch", "50")
    assert code == 0 and out == f"tagged {len(posts)} post(s), {len(posts)} changed (schemes revision 1)\n", (out, err)
    store = open_store("sqlite:///yuqing-data/store.db")
    assert store.search(Query(scheme="全部", limit=0)).total == len(posts)
    assert 0 < store.search(Query(scheme="噪音", limit=0)).total < len(posts)
    store.close()
    assert "already done for schemes revision 1" in run("schemes", "backfill")[1]
