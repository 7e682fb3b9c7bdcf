"""The web app's background backfill (``schemes.backfill_job``) on both paths — schemes in SQLite
with the SQLite store, and in PostgreSQL with Elasticsearch (osmem): a save is followed by every
stored post carrying exactly the matcher's tags; a run stopped half-way resumes; a revision that
moves during a run stops it and the next run applies the new schemes; one runner at a time."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from processors.classify import Classifier
from schemes.backfill import Lease, Progress, backfill
from schemes.backfill_job import BackfillJob
from schemes.matcher import Matcher
from schemes.store import SchemeStore, backfill_table
from tests.core.test_store_contract import _collected
from tests.fixtures.osmem import ES_OPTIONS
from tests.fixtures.postgres import create_database, drop_database
from yuqing.events import PostClassified
from yuqing.store import Query, Store, open_store

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "yuqing" / "demo" / "wenzheng.jsonl"
WAGE = {"name": "欠薪", "team": "县人社局", "include": "欠薪 讨薪 拖欠 +工资"}
NOISE = {"name": "噪音", "include": "噪音 噪声 扰民"}
SCHOOL = {"name": "教育", "include": "(学校 幼儿园 老师) 非 招聘", "exclude": ["广告"]}


@pytest.fixture(scope="module")
def posts() -> list[PostClassified]:
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    return Classifier().classify_many(_collected({"source": "demo"} | r) for r in rows)


@dataclass
class Path2:
    store: Store
    table: SchemeStore


@pytest.fixture(params=["sqlite", pytest.param("postgres+osmem", marks=[pytest.mark.postgres, pytest.mark.elasticsearch])])
def where(request: pytest.FixtureRequest, tmp_path: Path, posts: list[PostClassified]) -> Iterator[Path2]:
    if request.param == "sqlite":
        store = open_store(f"sqlite:///{tmp_path}/store.db")
        db_url = f"sqlite:///{tmp_path}/ledger.db"
    else:
        store = open_store(str(request.getfixturevalue("es_url")), refresh="wait_for", **ES_OPTIONS)
        db_url = create_database()
        request.addfinalizer(lambda: drop_database(db_url))
    store.write(posts)
    store.refresh()
    table = SchemeStore(db_url)
    yield Path2(store, table)
    table.close()
    store.close()


def _tags(store: Store) -> dict[str, list[str]]:
    return {p.id: p.schemes for p in store.search(Query(limit=1000)).hits}


def _expected(table: SchemeStore, posts: list[PostClassified]) -> dict[str, list[str]]:
    matcher = Matcher([s.compiled() for s in table.list(active_only=True)])
    return {p.id: sorted(matcher.match_post(p)) for p in posts}


def _wait(job: BackfillJob, state: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while job.state().state != state:
        assert time.monotonic() < deadline, job.state()
        time.sleep(0.05)


def test_a_save_is_backfilled_in_the_background(where: Path2, posts: list[PostClassified]) -> None:
    job = BackfillJob(where.table, lambda: where.store, settle=0.3, poll=60, batch=10, pause=0)
    assert job.state().state == "idle"
    try:
        where.table.save_all([WAGE, NOISE])
        job.kick()
        assert job.state().state == "waiting"  # settling: the pipeline's taggers load the new schemes first
        _wait(job, "finished")
        expected = _expected(where.table, posts)
        assert _tags(where.store) == expected
        st = job.state()
        tagged = sum(1 for v in expected.values() if v)
        assert (st.done, st.total, st.written, st.percent) == (len(posts), len(posts), tagged, 100) and tagged >= 5

        # an edit (a third scheme; one made inactive) is applied over the same posts
        where.table.save_all([WAGE | {"active": False}, SCHOOL])
        job.kick()
        _wait(job, "finished")
        expected2 = _expected(where.table, posts)
        assert expected2 != expected and _tags(where.store) == expected2
        assert not any("欠薪" in v for v in _tags(where.store).values())
    finally:
        job.stop()


def test_an_interrupted_run_resumes_and_a_moved_revision_starts_over(where: Path2, posts: list[PostClassified]) -> None:
    where.table.save_all([WAGE, NOISE, SCHOOL])
    pages = 0

    def after_three() -> bool:
        nonlocal pages
        pages += 1
        return pages >= 3

    half = backfill(where.store, where.table, batch=10, stop=after_three)  # a process stopped after 3 pages
    assert not half.finished and half.done == 30
    job = BackfillJob(where.table, lambda: where.store, settle=5, poll=60, batch=10, pause=0)
    assert job.state().state == "waiting" and job.state().done == 30
    t0 = time.monotonic()
    assert job.run_once()  # the same revision: no settling, it resumes after post 30
    assert time.monotonic() - t0 < 5
    with where.table.engine.connect() as c:
        cp = c.execute(select(backfill_table)).mappings().one()
    assert cp["finished"] and cp["done"] == len(posts)
    assert _tags(where.store) == _expected(where.table, posts)

    # the schemes move while a run is going: it stops after the page in hand, the next applies them
    rev = where.table.revision()

    def edit_after_first_page(p: Progress) -> None:
        if p.done == 10:
            where.table.save_all([NOISE | {"include": "噪音"}])

    first = backfill(
        where.store, where.table, batch=10, restart=True, on_page=edit_after_first_page, stop=lambda: where.table.revision() != rev
    )
    assert not first.finished and first.done == 10
    assert job.state().state == "waiting"
    job.settle = 0
    assert job.run_once()
    assert job.state().revision == rev + 1 and job.state().done == len(posts)
    assert _tags(where.store) == _expected(where.table, posts)


def test_one_runner_at_a_time(where: Path2, posts: list[PostClassified]) -> None:
    where.table.save_all([WAGE])
    other = Lease(where.table, seconds=30, holder="another-process")
    assert other.acquire()
    job = BackfillJob(where.table, lambda: where.store, settle=0, poll=60, batch=50, pause=0)
    assert not job.run_once()  # held elsewhere: this process leaves it to that one
    assert job.state().state == "waiting" and not any(_tags(where.store).values())
    other.release()
    assert job.run_once() and job.state().state == "finished"
    assert Lease(where.table, holder="x").acquire()  # released after the run


@pytest.mark.postgres
def test_an_old_postgresql_checkpoint_table_is_widened() -> None:
    """``until_us`` was a 32-bit INTEGER, in which no microsecond time fits: no backfill could run on
    PostgreSQL. Opening the schemes table widens it."""
    from sqlalchemy import create_engine, text

    url = create_database()
    try:
        engine = create_engine(url)
        with engine.begin() as c:
            c.execute(
                text(
                    "CREATE TABLE yuqing_schemes_backfill (key VARCHAR(40) PRIMARY KEY, revision INTEGER NOT NULL, "
                    "until_us INTEGER NOT NULL, done INTEGER NOT NULL, written INTEGER NOT NULL, total INTEGER NOT NULL, "
                    "finished BOOLEAN NOT NULL)"
                )
            )
        engine.dispose()
        table = SchemeStore(url)
        try:
            table.save_all([WAGE])
            with table.engine.begin() as c:
                c.execute(
                    backfill_table.insert().values(
                        key="posts", revision=1, until_us=int(time.time() * 1e6), done=0, written=0, total=0, finished=False
                    )
                )
                kind = c.execute(text("SELECT data_type FROM information_schema.columns WHERE column_name = 'until_us'")).scalar()
            assert kind == "bigint"
        finally:
            table.close()
    finally:
        drop_database(url)


def test_without_a_store_it_says_so(tmp_path: Path) -> None:
    table = SchemeStore(f"sqlite:///{tmp_path}/ledger.db")
    job = BackfillJob(table, lambda: None, settle=0)
    assert job.state().state == "idle"
    table.save_all([WAGE])
    assert job.state().state == "no_store" and not job.run_once()
    table.close()


def test_a_stop_while_settling_ends_the_thread_at_once(tmp_path: Path) -> None:
    """A stop during the settle wait (the app shutting down right after a save) ends the thread
    then, not after the poll interval."""
    table = SchemeStore(f"sqlite:///{tmp_path}/schemes.db")
    store = open_store(f"sqlite:///{tmp_path}/store.db")
    job = BackfillJob(table, lambda: store, settle=30, poll=60)
    table.save_all([WAGE])
    job.kick()
    deadline = time.monotonic() + 10
    while job.state().state != "waiting" and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # inside the settle wait
    t0 = time.monotonic()
    job.stop(timeout=20)
    assert job._thread is not None and not job._thread.is_alive()
    assert time.monotonic() - t0 < 5
    store.close()
