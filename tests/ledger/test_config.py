"""Ledger settings are validated at load, and errors name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import load_settings
from ledger.masking import mask, mask_name
from yuqing.errors import ConfigError


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    f = tmp_path / "y.yaml"
    f.write_text(text, encoding="utf-8")
    return load_settings(f, environ={})


def test_deadlines_in_either_form(tmp_path: Path) -> None:
    a = load(tmp_path, "ledger:\n  deadlines: {咨询: 2, 舆情: 4}\n")
    b = load(tmp_path, "ledger:\n  deadlines:\n    - {type: 咨询, days: 2}\n    - {type: 舆情, days: 4}\n")
    assert a.ledger.deadlines == b.ledger.deadlines == {"咨询": 2, "舆情": 4}
    assert a.ledger.limit_for("咨询") == 2 and a.ledger.limit_for("没有的类型") == 4


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        (
            "ledger:\n  deadlines: {咨询: 0}\n",
            "ledger.deadlines",
            "case type '咨询': working days must be an integer between 1 and 120, got 0",
        ),
        ("ledger:\n  deadlines: {咨询: 3}\n", "ledger", "default_case_type '舆情' is not one of deadlines: 咨询"),
        ("ledger:\n  deadlines: [{type: 咨询}]\n", "ledger.deadlines", "item 0: expected a mapping with exactly 'type' and 'days'"),
        ("ledger:\n  notifiers: [{type: webhook}]\n", "ledger.notifiers", "notifiers[0]: (webhook) url: Field required"),
        ("ledger:\n  upload_types: [exe]\n", "ledger.upload_types", "unsupported upload types ['exe']"),
        ("ledger:\n  port: 70000\n", "ledger.port", "less than or equal to 65535"),
    ],
)
def test_bad_ledger_settings_name_the_key(tmp_path: Path, text: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    assert err.value.key == key and err.value.file == str(tmp_path / "y.yaml")
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "names", "masked"),
    [
        ("来电人：张三丰，手机 13912345678。", [], "来电人：张**，手机 139****5678。"),
        ("身份证号362427198811230012，电话 0792-6821234", [], "身份证号362427************，电话 0792-****34"),
        ("+86 139-1234-5678 和 13912345678", [], "139****5678 和 139****5678"),
        ("欧阳娜娜反映，欧阳娜娜的邻居", ["欧阳娜娜"], "欧***反映，欧***的邻居"),
        ("住马当镇5栋3单元402室", [], "住马当镇**栋**单元**室"),
        ("市民张先生反映路灯不亮", [], "市民张先生反映路灯不亮"),
        ("工单 GD2026000045 已办结，投诉 12 次", [], "工单 GD2026000045 已办结，投诉 12 次"),
    ],
)
def test_masking(text: str, names: list[str], masked: str) -> None:
    assert mask(text, names) == masked


def test_mask_name() -> None:
    assert (mask_name("王五"), mask_name("欧阳娜娜"), mask_name("李")) == ("王*", "欧***", "李")
