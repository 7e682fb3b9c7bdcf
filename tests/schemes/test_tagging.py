"""Tagging in processing: the stage writes ``post.schemes`` to the store and the bus; the tagger
picks up a scheme saved later without a restart, and keeps tagging when the database is gone."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from processors.classify import Classifier
from processors.worker import make_stage
from schemes.model import Scheme
from schemes.store import SchemeStore
from schemes.tagger import Tagger
from yuqing.bus import OutMessage, open_bus
from yuqing.events import POSTS_CLASSIFIED, POSTS_RAW, PostClassified, PostCollected, Source, decode
from yuqing.store import Query, open_store
from yuqing.timeutil import now

TEXTS = [
    ("小区施工噪音扰民", "每天晚上十点后还在施工，噪音很大"),
    ("农民工工资被拖欠", "工地拖欠我们三个月工资，讨薪无门"),
    ("路灯不亮", "某路段路灯坏了一个月"),
]


def _posts() -> list[PostCollected]:
    t = now()
    return [
        PostCollected(
            id=f"t:{i}",
            title=title,
            content=content,
            published_at=t - timedelta(minutes=i),
            collected_at=t,
            source=Source(id="t", kind="board", name="测试"),
        )
        for i, (title, content) in enumerate(TEXTS)
    ]


def test_stage_tags_posts_in_store_and_on_the_bus(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/ledger.db"
    table = SchemeStore(db)
    table.save_all([Scheme(name="噪音扰民", include="噪音 噪声 +扰民"), Scheme(name="欠薪", include="欠薪 讨薪 (拖欠 +工资)")])
    bus = open_bus(f"sqlite:///{tmp_path}/bus.db")
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    bus.publish(POSTS_RAW, [OutMessage(p.id, p.to_bytes()) for p in _posts()])
    stage = make_stage(bus, store, Classifier(), batch_size=10, linger=0.05, tagger=Tagger(db))
    assert stage.drain(idle_polls=1, poll_timeout=0.05) == 3
    stage.close()
    stored = {p.id: p.schemes for p in store.search(Query(limit=10)).hits}
    assert stored == {"t:0": ["噪音扰民"], "t:1": ["欠薪"], "t:2": []}
    sent = [decode(m.value, PostClassified) for m in bus.consumer(POSTS_CLASSIFIED, "t").poll(10, 0.2)]
    assert {p.id: p.schemes for p in sent} == stored
    assert store.search(Query(scheme="欠薪")).total == 1
    from schemes.scoped import ScopedStore

    scoped = ScopedStore(store, "噪音扰民")  # what `yuqing brief --scheme 噪音扰民` reads
    assert [p.id for p in scoped.search(Query(limit=10)).hits] == ["t:0"]
    assert sum(scoped.count_by("topic").values()) == 1 and sum(scoped.count_per_day().values()) == 1
    assert scoped.get("t:0") is not None and scoped.get("t:1") is None
    table.close()
    store.close()


def test_tagger_reloads_changed_schemes_and_survives_a_lost_database(tmp_path: Path) -> None:
    db_path = tmp_path / "ledger.db"
    table = SchemeStore(f"sqlite:///{db_path}")
    tagger = Tagger(f"sqlite:///{db_path}", reload_seconds=0)
    classified = Classifier().classify_many(_posts())
    assert [p.schemes for p in tagger.tag(classified)] == [[], [], []]
    table.save(Scheme(name="路灯", include="路灯 +(不亮 坏)"))
    assert [p.schemes for p in tagger.tag(classified)] == [[], [], ["路灯"]]
    table.save(Scheme(name="路灯", include="路灯", active=False))
    assert [p.schemes for p in tagger.tag(classified)] == [[], [], []]
    table.save(Scheme(name="路灯", include="路灯"))
    assert [p.schemes for p in tagger.tag(classified)] == [[], [], ["路灯"]]
    table.close()
    tagger._table.close()  # type: ignore[union-attr]
    tagger._table = None
    tagger.database_url = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # unreachable: keep what we have
    assert [p.schemes for p in tagger.tag(classified)] == [[], [], ["路灯"]]
    tagger.close()
