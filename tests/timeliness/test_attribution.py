"""Attribution on real reply texts (tests/data/timeliness_replies.jsonl, copied from the shared
问政 data: TipDM 2020 fj4 and Fuzhou 12345). Their places are anonymised (A7县) or elsewhere, so
the alias list here is one for A7县, as an office there would configure it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.settings import load_settings
from ledger.timeliness.attribution import UnitMatcher
from ledger.timeliness.config import TimelinessConfig, UnitAliases
from yuqing.errors import ConfigError

ROWS = [json.loads(line) for line in (Path(__file__).resolve().parents[1] / "data" / "timeliness_replies.jsonl").open(encoding="utf-8")]
A7 = [
    UnitAliases(unit="A7县城市管理和行政执法局", aliases=["县城市管理和行政执法局", "县城管局"]),
    UnitAliases(unit="泉塘街道", aliases=["泉塘街道办事处", "A7县泉塘街道办事处"]),
    UnitAliases(unit="安沙镇", aliases=["安沙镇人民政府", "安沙镇政府", "A7县安沙镇政府"]),
    UnitAliases(unit="黄花镇", aliases=["黄花镇人民政府", "A7县黄花镇人民政府"]),
    UnitAliases(unit="A7县交通运输局", aliases=["县交通运输局", "县交通局"]),
    UnitAliases(unit="A7县教育局", aliases=["县教育局"]),
]


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_real_replies_attributed_or_left_unmatched(row: dict) -> None:
    att = UnitMatcher(A7, home=("A7县",)).attribute(row["reply"])
    assert att.unit == row["expected_unit"], att
    if att.unit is None:
        assert att.how  # a reason, shown to staff
    else:
        assert att.how in ("落款", "回复开头") and att.evidence in row["reply"]


def test_another_countys_town_is_not_ours() -> None:
    """'A7县黄花镇人民政府' names a 黄花镇 of another county: 彭泽's default list has a 黄花镇 too."""
    row = next(r for r in ROWS if r["id"] == "tipdm2020c_fj4:12847")
    assert UnitMatcher(TimelinessConfig().units).attribute(row["reply"]).unit is None
    assert UnitMatcher(TimelinessConfig().units).attribute("……特此回复。彭泽县黄花镇人民政府 2026年3月2日").unit == "黄花镇"


def test_metadata_wins_and_unknown_bodies_stay_unmatched() -> None:
    m = UnitMatcher(TimelinessConfig().units)
    assert m.attribute("已办理。", "彭泽县人力资源和社会保障局").unit == "县人力资源和社会保障局"
    att = m.attribute("县人社局已办理。", "晋安区委书记办公室")  # the board says who replied: not guessed from the text
    assert att.unit is None and "晋安区委书记办公室" in att.how
    assert m.attribute("您好，经县人社局与县住建局联合核查……", None).unit is None  # two units in the opening: not guessed
    assert m.attribute("经核查已处理。县住建局 2026年11月3日").unit == "县住房和城乡建设局"
    assert m.attribute("").how == "回复内容为空"


def test_alias_list_is_validated_at_load(tmp_path: Path) -> None:
    bad = tmp_path / "y.yaml"
    bad.write_text(
        "ledger:\n  timeliness:\n    units:\n      - {unit: 县人社局, aliases: [人社局]}\n      - {unit: 县民政局, aliases: [人社局]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as exc:
        load_settings(bad, environ={})
    assert "ledger.timeliness" in str(exc.value) and "人社局" in str(exc.value)
    bad.write_text("ledger:\n  timeliness:\n    channel_limits: [{source: hotline-12345, days: 0}]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="channel_limits"):
        load_settings(bad, environ={})
    good = tmp_path / "g.yaml"
    good.write_text("ledger:\n  timeliness:\n    channel_limits: [{source: hotline-12345, days: 3}]\n", encoding="utf-8")
    assert load_settings(good, environ={}).ledger.timeliness.limit_for("hotline-12345") == 3
