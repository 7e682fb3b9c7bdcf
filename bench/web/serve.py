"""The ledger web app for ``bench.web``: real uvicorn with N worker processes on one port.

    python -m bench.web.serve DATABASE_URL STORE_URL PORT WORKERS [THREADS]

uvicorn's ``workers`` needs an import string, so each worker builds its app with ``app()`` below
from the environment (the database is also where the alert pages read the alerts, as when
``alerts.database_url`` is unset). THREADS, if given, is the size of each worker's thread pool
for sync endpoints (anyio's default is 40), to try fewer threads sharing the GIL.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import uvicorn


class _Threads:
    """Sets the worker's thread limit on its first request (the limiter belongs to the running loop)."""

    def __init__(self, app: Any, threads: int) -> None:
        self.app, self.threads, self.set = app, threads, False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not self.set:
            import anyio.to_thread

            anyio.to_thread.current_default_thread_limiter().total_tokens = self.threads
            self.set = True
        await self.app(scope, receive, send)


def app() -> Any:
    from alerts.store import AlertStore
    from ledger.config import LedgerConfig
    from ledger.db import Database
    from ledger.service import LedgerService
    from web import create_app
    from yuqing.store import open_store

    url = os.environ["YUQING_BENCH_WEB_DB"]
    svc = LedgerService(Database(url), LedgerConfig())
    web = create_app(svc, store=open_store(os.environ["YUQING_BENCH_WEB_STORE"]), alerts=AlertStore(url), secret_key="bench-web")
    threads = os.environ.get("YUQING_BENCH_WEB_THREADS")
    return _Threads(web, int(threads)) if threads else web


def main() -> None:
    url, store, port, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    os.environ["YUQING_BENCH_WEB_DB"] = url
    os.environ["YUQING_BENCH_WEB_STORE"] = store
    if len(sys.argv) > 5:
        os.environ["YUQING_BENCH_WEB_THREADS"] = sys.argv[5]
    uvicorn.run(
        os.environ.get("YUQING_BENCH_WEB_MODULE", "bench.web.serve") + ":app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
