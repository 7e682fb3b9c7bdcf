"""``yuqing policies list|add|import|export`` on the default (embedded) database."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from app.cli import main

YAML = """policies:
  - title: 九江市住房公积金缴存管理办法
    doc_number: 长金管委【2018】1号
    issuer: 九江市住房公积金管理委员会
    published: 2018-01-29
    keywords: 公积金
"""


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.output


def test_add_import_list_export(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(YAML, encoding="utf-8")
    assert run("policies", "import", "p.yaml") == (0, "imported 1 policy(ies): 1 new, 0 updated\n")
    code, out = run(
        "policies",
        "add",
        "--title",
        "彭泽县农村危房改造补助办法",
        "--issuer",
        "彭泽县住建局",
        "--published",
        "2026-11-01",
        "--keywords",
        "危房 +改造",
    )
    assert code == 0 and out == "registered policy 2: 彭泽县农村危房改造补助办法 (2026-11-01)\n"
    assert run("policies", "list") == (
        0,
        "2\t2026-11-01\t监测中\t彭泽县农村危房改造补助办法\t-\t危房 +改造\n1\t2018-01-29\t监测中\t九江市住房公积金缴存管理办法\t长金管委【2018】1号\t公积金\n",
    )
    code, out = run("policies", "export")
    assert code == 0 and out.startswith("policies:\n- title: 彭泽县农村危房改造补助办法\n")
    assert run("policies", "import", "p.yaml")[1] == "imported 1 policy(ies): 0 new, 1 updated\n"


def test_bad_input_saves_nothing(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        YAML + "  - {title: 第二项, issuer: 县政府, published: 2018-13-01, scheme: 无此方案}\n", encoding="utf-8"
    )
    code, out = run("policies", "import", "bad.yaml")
    assert code == 2 and "bad.yaml[1]（第二项） 发布日期: 「2018-13-01」不是有效日期" in out
    code, out = run("policies", "add", "--title", "x", "--issuer", "y", "--published", "2026-11-01")
    assert code == 2 and "请选择监测方案或填写关键词（至少一项）" in out
    code, out = run("policies", "add", "--title", "x", "--issuer", "y", "--published", "2026-11-01", "--scheme", "无此方案")
    assert code == 2 and "没有名为「无此方案」的监测方案" in out
    assert run("policies", "list") == (0, "")
