"""The saved-searches table is made by the first 检索 after a start; with several workers the first
searches come in together, and PostgreSQL refused all but one ``CREATE TABLE`` (a 500 for the
others: found by ``bench.web``). Now each finds the table there."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, inspect

from ledger.db import make_engine
from tests.fixtures.postgres import create_database, drop_database
from web.saved_searches import SavedSearches


@pytest.mark.postgres
def test_many_first_searches_at_once_all_get_the_table() -> None:
    url = create_database(prefix="yuqing_test_saved")
    engines = [make_engine(url, pool_size=1, max_overflow=0) for _ in range(8)]
    try:
        start = threading.Barrier(len(engines))
        failures: list[Exception] = []

        def first_search(engine: Engine) -> None:
            start.wait()
            try:
                SavedSearches(engine).list(1)
            except Exception as exc:  # collected and reported below
                failures.append(exc)

        threads = [threading.Thread(target=first_search, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert failures == []
        assert "yuqing_saved_searches" in inspect(engines[0]).get_table_names()
    finally:
        for e in engines:
            e.dispose()
        drop_database(url)
