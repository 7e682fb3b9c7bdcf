"""`yuqing classify` and `yuqing train` from the command line, and the processing stage on the embedded bus."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from processors.classify import Classifier
from processors.worker import make_stage
from yuqing.bus import OutMessage, open_bus
from yuqing.events import POSTS_CLASSIFIED, POSTS_RAW, PostClassified, PostCollected, Source, decode
from yuqing.store import Query, open_store
from yuqing.timeutil import now

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "yuqing", *args], input=stdin, capture_output=True, text=True, timeout=120, check=False)


def test_classify_streams_jsonl_and_passes_fields_through(tmp_path: Path) -> None:
    lines = [
        {"title": "拖欠农民工工资", "content": "定山镇工地包工头拖欠二十名农民工工资半年，讨薪无果。", "ticket": "A-1"},
        "not json",
        {"title": "咨询低保申请条件", "content": "请问申请低保需要什么条件？", "extra": [1, 2]},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    res = run("classify", str(src))
    assert res.returncode == 0, res.stderr
    out = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o.get("ticket") for o in out] == ["A-1", None] and out[1]["extra"] == [1, 2]
    assert (out[0]["topic"], out[0]["sentiment"], out[0]["region"]) == ("工资拖欠", "negative", "彭泽县/定山镇")
    assert (out[1]["topic"], out[1]["sentiment"]) == ("困难群众生活", "neutral")
    for o in out:
        assert set(o) >= {"topic", "sentiment", "risk", "keywords", "event_id", "region"}
        assert set(o["risk"]) == {"score", "level", "reasons"}
    assert f"{src}:2: skipped, malformed JSON" in res.stderr
    assert "classified 2 posts" in res.stderr
    piped = run("classify", "-", stdin=json.dumps(lines[0], ensure_ascii=False) + "\n")
    assert json.loads(piped.stdout)["topic"] == "工资拖欠"


def test_classify_answers_each_post_on_a_pipe_before_the_input_ends() -> None:
    """Interactive use: a post written to the pipe is answered while the pipe stays open."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "yuqing", "classify", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for i, title in enumerate(["拖欠农民工工资", "工地夜间施工噪音扰民"]):
            proc.stdin.write(
                json.dumps({"id": f"p{i}", "title": title, "content": title + "，请尽快处理。"}, ensure_ascii=False).encode() + b"\n"
            )
            proc.stdin.flush()
            answer = json.loads(proc.stdout.readline())  # blocks until answered: the input is still open
            assert answer["id"] == f"p{i}" and answer["topic"] and answer["risk"]["level"]
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0


def test_classify_keeps_what_orjson_refuses_and_names_bad_lines(tmp_path: Path) -> None:
    src = tmp_path / "odd.jsonl"
    src.write_text(
        '{"title": "路灯坏了", "content": "小区路灯坏了一个月", "big": 123456789012345678901234567890, "x": NaN}\n'
        "[1, 2]\n"
        '{"title": "停水", "content": "停水三天"\n',
        encoding="utf-8",
    )
    res = run("classify", str(src))
    assert res.returncode == 0, res.stderr
    (out,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert out["big"] == 123456789012345678901234567890 and out["topic"]
    assert f"{src}:2: skipped, malformed JSON: not a JSON object" in res.stderr
    assert f"{src}:3: skipped, malformed JSON" in res.stderr
    missing = run("classify", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "nope.jsonl" in missing.stderr


def test_classify_refuses_a_bad_processors_section_and_names_the_key(tmp_path: Path) -> None:
    """``yuqing classify`` reads only the processors' section of the settings (and the log level),
    validated as in the combined settings; the other stages' sections are not its business."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"title": "停水", "content": "停水三天"}\n', encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("processors:\n  batch_size: 0\n", encoding="utf-8")
    res = run("-c", str(bad), "classify", str(src))
    assert res.returncode == 2 and not res.stdout
    assert f"config error: Input should be greater than or equal to 1 (file {bad}, key processors.batch_size)" in res.stderr
    other = tmp_path / "other.yaml"
    other.write_text("processors:\n  keywords: 2\nalerts:\n  not_a_key: 1\n", encoding="utf-8")
    res = run("-c", str(other), "classify", str(src))
    assert res.returncode == 0, res.stderr
    assert len(json.loads(res.stdout)["keywords"]) <= 2


def test_classify_freezes_what_loading_made_and_collects_garbage_after(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"title": "停水", "content": "停水三天"}\n', encoding="utf-8")
    code = (
        "import gc, sys\nfrom app.cli import main\n"
        f"try:\n    main(['classify', {str(src)!r}])\nexcept SystemExit:\n    pass\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 10000, file=sys.stderr)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True, cwd=ROOT)
    assert json.loads(res.stdout)["topic"] and res.stderr.splitlines()[-1] == "True True"


def _posts(n: int) -> list[PostCollected]:
    rows = [json.loads(line) for line in (ROOT / "yuqing" / "demo" / "wenzheng.jsonl").read_text(encoding="utf-8").splitlines()][:n]
    src = Source(id="demo", kind="replay", name="demo")
    ref = now()
    return [
        PostCollected(id=f"demo:{r['id']}", title=r["title"], content=r["content"], published_at=ref - timedelta(minutes=i), source=src)
        for i, r in enumerate(rows)
    ]


def test_stage_writes_store_and_publishes_classified(tmp_path: Path) -> None:
    bus = open_bus(f"sqlite:///{tmp_path}/bus.db")
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    posts = _posts(120)
    bus.publish(POSTS_RAW, [OutMessage(p.id, p.to_bytes()) for p in posts])
    bus.publish(POSTS_RAW, [OutMessage("bad", b"{not json")])
    stage = make_stage(bus, store, Classifier(), batch_size=50, linger=0.05)
    assert stage.drain(idle_polls=1, poll_timeout=0.05) == 121
    assert stage.stats.dead_lettered == 1
    stage.close()
    assert store.search(Query(limit=1)).total == 120
    consumer = bus.consumer(POSTS_CLASSIFIED, "t")
    got = [decode(m.value, PostClassified) for m in consumer.poll(1000, 0.2)]
    assert sorted(p.id for p in got) == sorted(p.id for p in posts)
    dlq = bus.consumer(POSTS_RAW + ".dlq", "t").poll(10, 0.2)
    assert [m.value for m in dlq] == [b"{not json"] and dlq[0].headers["error"].startswith("not JSON")
    # A new worker (nothing in memory) finds the stored event of a post it is told again.
    first = next(p for p in got if p.id == posts[3].id)
    retold = posts[3].model_copy(update={"id": "demo:retold", "title": posts[3].title + "（再次反映）"})
    bus.publish(POSTS_RAW, [OutMessage(retold.id, retold.to_bytes())])
    restarted = make_stage(bus, store, Classifier(), batch_size=50, linger=0.05)
    assert restarted.drain(idle_polls=1, poll_timeout=0.05) == 1
    restarted.close()
    stored = store.get("demo:retold")
    assert stored is not None and stored.event_id == first.event_id and stored.event_keys
