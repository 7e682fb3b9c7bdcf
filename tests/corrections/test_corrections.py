"""纠错 below the web: saving a correction updates the store (SQLite and osmem/Elasticsearch) and
the table (SQLite and PostgreSQL) together; re-processing the post keeps it; the export is the
labelled format ``processors.train`` reads; the quality figures count agreement per class."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from corrections.apply import Corrector, Reapplier, Who
from corrections.export import BATCH, rows, training_rows, write_jsonl
from corrections.model import CorrectionError, values_of
from corrections.quality import figures
from corrections.table import CorrectionStoreError, CorrectionTable
from processors.classify import Classifier
from processors.train import add_corrections, load_rows
from processors.worker import make_stage
from tests.fixtures.osmem import ES_OPTIONS
from yuqing.bus import OutMessage, open_bus
from yuqing.errors import StoreError
from yuqing.events import POSTS_CLASSIFIED, POSTS_RAW, PostClassified, PostCollected, Source, decode
from yuqing.store import Query, Store, open_store
from yuqing.timeutil import now

ROOT = Path(__file__).resolve().parents[2]
MONITOR = Who("jiance", "monitor", 7)


def _collected(n: int = 12) -> list[PostCollected]:
    rows_ = [json.loads(line) for line in (ROOT / "yuqing" / "demo" / "wenzheng.jsonl").read_text(encoding="utf-8").splitlines()][:n]
    src = Source(id="demo", kind="replay", name="demo")
    ref = now()
    return [
        PostCollected(id=f"demo:{r['id']}", title=r["title"], content=r["content"], published_at=ref - timedelta(minutes=i), source=src)
        for i, r in enumerate(rows_)
    ]


@pytest.fixture(scope="module")
def classified() -> list[PostClassified]:
    return Classifier().classify_many(_collected())


@pytest.fixture(params=["sqlite", pytest.param("osmem", marks=pytest.mark.elasticsearch)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path}/store.db")
    else:
        s = open_store(str(request.getfixturevalue("es_url")), refresh="wait_for", **ES_OPTIONS)
    yield s
    s.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CorrectionTable]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/ledger.db"
    else:
        from tests.fixtures.postgres import create_database, drop_database

        url = create_database()
        request.addfinalizer(lambda: drop_database(url))
    t = CorrectionTable(url)
    yield t
    t.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _other_topic(p: PostClassified) -> str:
    return "工资拖欠" if p.topic != "工资拖欠" else "安全生产"


def test_a_correction_changes_the_stored_post_and_its_facets(store: Store, classified: list[PostClassified], tmp_path: Path) -> None:
    table = CorrectionTable(f"sqlite:///{tmp_path}/ledger.db")
    store.write(classified)
    post = classified[0]
    new_topic = _other_topic(post)
    before = store.count_by("topic").get(new_topic, 0)
    rows_ = Corrector(table, store).correct(
        MONITOR, post, {"topic": new_topic, "sentiment": "neutral", "risk_level": "重大", "region": "彭泽县/马垱镇"}
    )
    got = store.get(post.id)
    assert got is not None
    assert values_of(got) == {"topic": new_topic, "sentiment": "neutral", "risk_level": "重大", "region": "彭泽县/马垱镇"}
    assert got.risk.score == post.risk.score and got.risk.reasons[-1] == f"人工纠错：风险等级 {post.risk.level}→重大"
    assert got.title == post.title and got.tokens == post.tokens  # the rest of the post is untouched
    store.refresh()
    assert post.id in [p.id for p in store.search(Query(topic=new_topic, limit=50)).hits]
    assert store.count_by("topic").get(new_topic, 0) == before + 1
    assert [p.id for p in store.search(Query(region="彭泽县/马垱镇")).hits] == [post.id]
    (row,) = table.history(post.id)
    assert (row.actor_name, row.actor_role, row.via) == ("jiance", "monitor", "post")
    assert row.old == values_of(post) == row.model and row.new == rows_[0]["new"]
    assert set(row.changed) >= {"topic", "risk_level", "region"}
    table.close()


def test_the_table_keeps_who_when_old_new_on_sqlite_and_postgres(
    table: CorrectionTable, classified: list[PostClassified], tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    store.write(classified)
    post = classified[1]
    c = Corrector(table, store)
    c.correct(MONITOR, post, {"topic": _other_topic(post)})
    again = store.get(post.id)
    assert again is not None
    c.correct(Who("admin", "admin", 1), again, {"topic": "其他", "sentiment": again.sentiment})
    first, second = table.history(post.id)
    assert first.created_at <= second.created_at and first.created_at.tzinfo is not None
    assert second.old["topic"] == _other_topic(post) and second.new["topic"] == "其他"
    assert second.model == values_of(post)  # the model's values stay those before any correction
    assert second.actor_name == "admin" and second.reviewed == ["topic", "sentiment"]
    assert list(table.of_posts([post.id, "nope"])) == [post.id]
    store.close()


def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(classified: list[PostClassified], tmp_path: Path) -> None:
    table = CorrectionTable(f"sqlite:///{tmp_path}/ledger.db")
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    store.write(classified)
    c = Corrector(table, store)
    for values, field in (
        ({"topic": "交通"}, "topic"),
        ({"sentiment": "angry"}, "sentiment"),
        ({"region": "九江市"}, "region"),
        ({}, "fields"),
    ):
        with pytest.raises(CorrectionError) as exc:
            c.correct(MONITOR, classified[0], values)
        assert exc.value.field == field
    assert table.all() == []
    # The store refuses the write (its full-text table is gone): the table's rows roll back with it.
    with sqlite3.connect(tmp_path / "store.db") as other:
        other.execute("DROP TABLE posts_fts")
    with pytest.raises(StoreError):
        c.correct(MONITOR, classified[0], {"topic": _other_topic(classified[0])})
    assert table.all() == []
    table.close()
    store.close()


def test_re_processing_keeps_the_correction(classified: list[PostClassified], tmp_path: Path) -> None:
    """The processing stage classifies the same post again (a replay): with the ``Reapplier`` as
    its tagger the corrected fields stay; without it they would be the model's again."""
    db = f"sqlite:///{tmp_path}/ledger.db"
    table = CorrectionTable(db)
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    bus = open_bus(f"sqlite:///{tmp_path}/bus.db")
    posts = _collected(6)
    bus.publish(POSTS_RAW, [OutMessage(p.id, p.to_bytes()) for p in posts])
    stage = make_stage(bus, store, Classifier(), batch_size=50, linger=0.05, tagger=Reapplier(db))
    assert stage.drain(idle_polls=1, poll_timeout=0.05) == 6
    stage.close()
    post = store.get(posts[2].id)
    assert post is not None
    model_topic, new_topic = post.topic, _other_topic(post)
    Corrector(table, store).correct(MONITOR, post, {"topic": new_topic, "risk_level": "重大"})
    # replayed: the same posts again on posts.raw
    bus.publish(POSTS_RAW, [OutMessage(p.id, p.to_bytes()) for p in posts])
    stage = make_stage(bus, store, Classifier(), batch_size=50, linger=0.05, tagger=Reapplier(db))
    assert stage.drain(idle_polls=1, poll_timeout=0.05) == 6
    stage.close()
    again = store.get(post.id)
    assert again is not None and (again.topic, again.risk.level) == (new_topic, "重大")
    assert Classifier().classify_many([posts[2]])[0].topic == model_topic != new_topic  # what a plain replay would have written
    published = [decode(m.value, PostClassified) for m in bus.consumer(POSTS_CLASSIFIED, "t").poll(100, 0.2)]
    assert [(p.topic, p.risk.level) for p in published if p.id == post.id][-1] == (new_topic, "重大")
    # The table unreadable: the batch fails (retryable) instead of undoing the correction.
    down = Reapplier(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/ledger")  # the ledger database down
    with pytest.raises(CorrectionStoreError) as exc:
        down.tag([post])
    assert exc.value.retryable
    table.close()
    store.close()
    bus.close()


def test_a_correction_applied_to_the_whole_event(classified: list[PostClassified], tmp_path: Path) -> None:
    table = CorrectionTable(f"sqlite:///{tmp_path}/ledger.db")
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    event = classified[0].event_id
    members = [p.model_copy(update={"event_id": event}) for p in classified[:4]]
    store.write(members + classified[4:])
    c = Corrector(table, store)
    post = members[0]
    with pytest.raises(CorrectionError):  # nothing changed: nothing to apply to the event
        c.correct(MONITOR, post, values_of(post), event_posts=c.event_posts(event))
    rows_ = c.correct(MONITOR, post, {**values_of(post), "topic": "食品药品安全"}, event_posts=c.event_posts(event))
    assert sorted(r["post_id"] for r in rows_) == sorted(p.id for p in members)
    assert {r["via"] for r in rows_ if r["post_id"] != post.id} == {"event"} and len({r["batch"] for r in rows_}) == 1
    for p in members:
        got = store.get(p.id)
        assert got is not None and got.topic == "食品药品安全" and got.sentiment == p.sentiment  # only the changed field
    assert all(store.get(p.id).topic == p.topic for p in classified[4:])  # type: ignore[union-attr]
    table.close()
    store.close()


def test_export_is_the_labelled_format_train_reads(classified: list[PostClassified], tmp_path: Path) -> None:
    table = CorrectionTable(f"sqlite:///{tmp_path}/ledger.db")
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    store.write(classified)
    c = Corrector(table, store)
    a, b, r = classified[0], classified[1], classified[2]
    c.correct(MONITOR, a, {"topic": _other_topic(a), "sentiment": "positive"})
    c.correct(MONITOR, b, {"risk_level": "重大"})  # no topic or sentiment judged: not for training
    c.correct(MONITOR, r, values_of(r))  # confirmed as it was: a label too
    path = tmp_path / "corrections.jsonl"
    with path.open("w", encoding="utf-8") as f:
        assert write_jsonl(table, f) == 3
    exported = load_rows(path)
    assert [e["id"] for e in exported] == [a.id, b.id, r.id]
    first = exported[0]
    assert {k: first[k] for k in ("id", "title", "content", "topic", "sentiment", "batch")} == {
        "id": a.id,
        "title": a.title,
        "content": a.content,
        "topic": _other_topic(a),
        "sentiment": "positive",
        "batch": BATCH,
    }
    assert first["corrected"] == ["topic", "sentiment"] and first["risk"] == a.risk.level and first["corrected_by"] == "jiance"
    assert exported[1]["corrected"] == ["risk_level"] and exported[2]["corrected"] == []
    fixed = training_rows(path)
    assert [x["id"] for x in fixed] == [a.id, r.id]
    labelled = [
        {"id": a.id, "title": a.title, "content": a.content, "topic": a.topic, "sentiment": "negative"},
        {"id": "x", "title": "t", "content": "c", "topic": "其他", "sentiment": "neutral"},
    ]
    merged = add_corrections(labelled, fixed)
    assert [m["id"] for m in merged] == ["x", a.id, r.id] and merged[1]["topic"] == _other_topic(a)
    (tmp_path / "bad.jsonl").write_text('{"id": "1", "title": "t"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1: missing content, topic, sentiment"):
        training_rows(tmp_path / "bad.jsonl")
    table.close()
    store.close()


def test_quality_counts_agreement_per_period_and_class(classified: list[PostClassified], tmp_path: Path) -> None:
    table = CorrectionTable(f"sqlite:///{tmp_path}/ledger.db")
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    store.write(classified)
    c = Corrector(table, store)
    a, b, d = classified[0], classified[1], classified[2]
    c.correct(MONITOR, a, {**values_of(a), "topic": _other_topic(a)})  # topic wrong, the rest right
    c.correct(MONITOR, b, values_of(b))  # all right
    c.correct(MONITOR, d, {"topic": _other_topic(d)})
    later = store.get(d.id)
    assert later is not None
    c.correct(MONITOR, later, {"topic": d.topic})  # changed back: the model was right after all
    (week,) = figures(table.all(), "week")
    (month,) = figures(table.all(), "month")
    assert week.posts == month.posts == 3
    t = week.fields["topic"]
    assert (t.n, t.agreed) == (3, 2)
    assert week.fields["sentiment"].n == 2 and week.fields["sentiment"].agreed == 2
    people, model = [_other_topic(a), b.topic, d.topic], [a.topic, b.topic, d.topic]
    for cls in set(people) | set(model):
        got = t.classes[cls]
        assert got.n == people.count(cls) and got.model_n == model.count(cls)
        assert got.agreed == sum(1 for h, m in zip(people, model, strict=True) if h == m == cls)
    assert month.key == f"{now():%Y-%m}" and week.key.startswith(f"{now().isocalendar()[0]}-W")
    assert rows(table.all())[2]["topic"] == d.topic
    table.close()
    store.close()


def test_train_refuses_a_bad_corrections_file_before_training(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from app.cli import main as cli

    bad = tmp_path / "corrections.jsonl"
    bad.write_text('{"id": "a", "title": "t", "content": "c", "topic": "其他", "sentiment": "neutral"}\nnot json\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["train", "--corrections", str(bad)])
    assert result.exit_code == 2 and f"{bad}:2: not JSON" in result.output
    both = CliRunner().invoke(cli, ["train", "--corrections", str(bad), "--no-corrections"])
    assert both.exit_code == 2 and "exclude each other" in both.output
