"""Region matching on the hand-checked set data/labels/regions.jsonl and on its traps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from processors.classify import Classifier
from processors.config import ProcessorsConfig
from processors.gazetteer import Gazetteer
from yuqing.errors import ConfigError
from yuqing.events import PostCollected, Source
from yuqing.timeutil import now

ROOT = Path(__file__).resolve().parents[2]
CASES = [json.loads(line) for line in (ROOT / "data" / "labels" / "regions.jsonl").read_text(encoding="utf-8").splitlines()]
# 232 of 233 right when this was written (the miss: 瀼溪 glued to the next word by the tokeniser);
# the old gazetteer got about 117. Fail if matching regresses below this.
THRESHOLD = 0.97


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.load()


def locate(g: Gazetteer, c: dict[str, object]) -> str | None:
    return g.locate(str(c["title"]), str(c["content"]), county_source=bool(c.get("county_source", False)))


def test_the_set_is_large_and_varied() -> None:
    assert len(CASES) >= 200
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert sum(c["expected"] is None for c in CASES) >= 60  # real posts that must get no region
    assert len({c["expected"] for c in CASES if c["expected"]}) >= 40


def test_accuracy_on_the_hand_checked_set(gaz: Gazetteer) -> None:
    wrong = [(c["id"], c["expected"], locate(gaz, c)) for c in CASES if locate(gaz, c) != c["expected"]]
    accuracy = 1 - len(wrong) / len(CASES)
    assert accuracy >= THRESHOLD, f"region accuracy {accuracy:.3f} < {THRESHOLD}: {wrong}"


@pytest.mark.parametrize("case", [c for c in CASES if c["kind"] in ("trap", "village_forms", "alias")], ids=lambda c: c["id"])
def test_every_trap_exactly(gaz: Gazetteer, case: dict[str, object]) -> None:
    if case["id"] == "r202":
        pytest.xfail("the tokeniser glues 瀼溪 to 麓山: a known miss")
    assert locate(gaz, case) == case["expected"], case.get("note")


@pytest.mark.parametrize(
    ("title", "content", "expected"),
    [
        ("", "彭泽县的早几天红绿灯坏了", "彭泽县"),  # not 天红镇
        ("", "彭泽县林业局为我认定山界", "彭泽县"),  # not 定山镇
        ("彭泽县御景龙城小区", "", "彭泽县"),  # not 龙城镇
        ("", "长沙县黄花镇的砖厂乱倒垃圾", None),  # another county's 黄花镇
        ("", "黄花镇的砖厂乱倒垃圾", None),  # 黄花镇 alone: not evidence of 彭泽
        ("", "彭泽县黄花镇的砖厂乱倒垃圾", "彭泽县/黄花镇"),
        ("", "一马当先", None),
        ("", "马当的码头", "彭泽县/马垱镇"),  # distinctive short alias, a whole token
        ("", "印石村彭泽泉身故", None),  # a person's name
        ("马垱镇的路灯", "彭泽县芙蓉墩镇长山村的村民反映", "彭泽县/芙蓉墩镇/长山村"),  # explicit 彭泽县…镇 beats the title
        ("马垱镇的路灯坏了", "长山村的村民反映", "彭泽县/马垱镇"),  # the title beats a village in the body
        ("彭泽县的路灯", "凉亭村和东风社区", "彭泽县/芙蓉墩镇/凉亭村"),  # one mention each: the earlier wins
    ],
)
def test_traps_and_preferences(gaz: Gazetteer, title: str, content: str, expected: str | None) -> None:
    assert gaz.locate(title, content) == expected


def test_a_village_name_in_two_towns_is_not_guessed(tmp_path: Path) -> None:
    f = tmp_path / "g.yaml"
    f.write_text(
        "丙丁县:\n  distinctive: true\n  places:\n"
        "    甲山镇: {distinctive: true, places: [新村村, 甲村]}\n"
        "    乙山镇: {places: [新村村, 乙村]}\n",
        encoding="utf-8",
    )
    g = Gazetteer.load(f)
    assert g.locate("丙丁县新村村的路坏了") == "丙丁县"  # which 新村村: not guessed
    assert g.locate("甲山镇的路", "新村村的路坏了") == "丙丁县/甲山镇/新村村"  # the town settles it
    assert g.locate("乙山镇的路", "新村村的路坏了") is None  # neither 乙山镇 nor a shared 新村村 shows the county
    assert g.locate("丙丁县乙山镇新村村的路坏了") == "丙丁县/乙山镇/新村村"


def test_same_answer_under_any_hash_seed() -> None:
    code = (
        "import json,sys\n"
        "from processors.gazetteer import Gazetteer\n"
        "g=Gazetteer.load()\n"
        "cases=[json.loads(l) for l in open(sys.argv[1],encoding='utf-8')]\n"
        "print(json.dumps([g.locate(c['title'],c['content'],county_source=c.get('county_source',False)) for c in cases]"
        "+[g.locate('彭泽县', '东风村和红星村'), g.locate('彭泽县', '红星村和东风村')],ensure_ascii=False))\n"
    )
    outs = set()
    for seed in ("0", "1", "42", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        res = subprocess.run(
            [sys.executable, "-c", code, str(ROOT / "data" / "labels" / "regions.jsonl")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        outs.add(res.stdout)
    assert len(outs) == 1
    last = json.loads(outs.pop())[-2:]
    assert last == ["彭泽县/黄花镇/东风村", "彭泽县/龙城镇/红星村"]  # ties go to the earlier mention


def test_the_county_list_is_the_official_one(gaz: Gazetteer) -> None:
    towns = [p.name for p in gaz.places if p.depth == 1 and p.name.endswith(("镇", "乡"))]
    assert towns == [
        "龙城镇",
        "棉船镇",
        "马垱镇",
        "芙蓉墩镇",
        "定山镇",
        "天红镇",
        "杨梓镇",
        "东升镇",
        "瀼溪镇",
        "黄花镇",
        "太平关乡",
        "黄岭乡",
        "浩山乡",
    ]
    assert "太白镇" not in {p.name for p in gaz.places}
    assert sum(p.depth == 2 for p in gaz.places) >= 170


def test_county_sources_from_the_config() -> None:
    c = Classifier(ProcessorsConfig(county_sources=["pz-12345"]))
    own = Source(id="pz-12345", kind="hotline", name="彭泽县12345")
    other = Source(id="t", kind="replay", name="test")

    def post(src: Source) -> PostCollected:
        return PostCollected(id=f"{src.id}:1", title="黄花镇的砖厂乱倒垃圾", content="请处理。", published_at=now(), source=src)

    assert c.classify(post(own)).region == "彭泽县/黄花镇"
    assert c.classify(post(other)).region is None


def test_the_short_nested_form_still_loads(tmp_path: Path) -> None:
    f = tmp_path / "g.yaml"
    f.write_text("甲乙县:\n  丙丁镇: [戊己村, 庚辛社区]\n  壬癸乡: []\n", encoding="utf-8")
    g = Gazetteer.load(f)
    assert [p.path for p in g.places] == ["甲乙县", "甲乙县/丙丁镇", "甲乙县/丙丁镇/戊己村", "甲乙县/丙丁镇/庚辛社区", "甲乙县/壬癸乡"]
    assert g.locate("甲乙县丙丁镇庚辛居委会门口") == "甲乙县/丙丁镇/庚辛社区"  # the 居委会 form of a 社区
    assert g.locate("丙丁镇的路") is None  # nothing marked distinctive, no county named


def test_bad_gazetteer_files_name_the_file_and_place(tmp_path: Path) -> None:
    for text, match in [
        ("彭泽县: 12\n", "mappings or lists"),
        ("彭泽县:\n  places:\n    甲山镇: {alias: [x]}\n", "unknown gazetteer keys"),
        ("彭泽县:\n  places:\n    甲山镇: {aliases: 甲}\n", "list of names"),
        ("甲县: {}\n乙县: {}\n", "exactly one county"),
    ]:
        f = tmp_path / "g.yaml"
        f.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=match) as err:
            Gazetteer.load(f)
        assert "g.yaml" in str(err.value)


def test_demo_posts_each_name_one_real_township(gaz: Gazetteer) -> None:
    import re

    towns = {p.name for p in gaz.places if p.depth == 1}
    demo = ROOT / "yuqing" / "demo"
    posts = [json.loads(line) for line in (demo / "wenzheng.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = [p["title"] + "\n" + p["content"] + "\n" + p.get("reply", "") for p in posts]
    texts += re.findall(r"<item>(.*?)</item>", (demo / "wenzheng_jiujiang.xml").read_text(encoding="utf-8"), re.S)
    named = [set(re.findall(r"彭泽县(\w+?[镇乡])", t)) for t in texts]
    assert sum(bool(n) for n in named) >= 100
    for text, n in zip(texts, named, strict=True):
        assert len(n) <= 1, (n, text[:80])
        assert n <= towns, n
    assert len(set().union(*named)) >= 10  # drawn from the whole list
    for post in posts:  # and the classifier finds the town the generator put in
        (town,) = set(re.findall(r"彭泽县(\w+?[镇乡])", post["title"] + post["content"])) or {None}
        if town:
            assert gaz.locate(post["title"], post["content"]) == f"彭泽县/{town}", post["title"]


def test_demo_generator_keeps_one_town_per_post() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import make_demo_data
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert "太白镇" not in make_demo_data.TOWNS and "瀼溪镇" in make_demo_data.TOWNS and len(make_demo_data.TOWNS) == 13
    out = make_demo_data.localise("A市A3区某小区，A7县的A3区路口", "马垱镇")
    assert out == "九江市彭泽县马垱镇某小区，彭泽县马垱镇的彭泽县马垱镇路口"
