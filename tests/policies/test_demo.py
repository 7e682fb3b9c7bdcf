"""`yuqing demo` registers a policy its posts really discuss, so /policies is not empty; and its
schemes tag every post it stores, the ledger's story posts included (a scheme's pages count them)."""

from __future__ import annotations

from pathlib import Path

from app.demo import run_demo
from schemes.policies import PolicyStore
from schemes.policy_report import report
from yuqing.store import open_store
from yuqing.timeutil import now


def test_demo_registers_the_housing_fund_policy(tmp_path: Path) -> None:
    lines: list[str] = []
    run_demo(tmp_path, echo=lines.append)
    assert "      政策 1 项：九江市住房公积金缴存管理办法" in lines
    data = tmp_path / "yuqing-data"
    table = PolicyStore(f"sqlite:///{data}/ledger.db")
    [p] = table.list()
    table.close()
    assert (p.doc_number, p.keywords) == ("长金管委【2018】1号", "公积金 商转公")
    assert (now().date() - p.published).days in (0, 1)  # the demo's day (a run across midnight: the day before)
    store = open_store(f"sqlite:///{data}/store.db")
    r = report(store, p)
    store.close()
    assert r.total >= 5 and r.question_count[0] + r.question_count[1] >= 3
    assert any("缴存管理办法" in q.post.content for q in r.questions)  # the post that quotes the document

    from schemes.matcher import Matcher
    from schemes.store import SchemeStore
    from yuqing.store import Query

    schemes = SchemeStore(f"sqlite:///{data}/ledger.db")
    matcher = Matcher([s.compiled() for s in schemes.list(active_only=True)])
    schemes.close()
    store = open_store(f"sqlite:///{data}/store.db")
    posts = store.search(Query(limit=10_000)).hits
    store.close()
    assert len(matcher.schemes) == 3 and any(p.source.id == "demo-story" for p in posts)
    wrong = [(p.id, p.schemes) for p in posts if p.schemes != sorted(matcher.match_post(p))]
    assert not wrong, wrong  # nothing for a backfill to do right after the demo
    assert sum(1 for p in posts if p.schemes) >= 20
