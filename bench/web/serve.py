"""The ledger web app for ``bench.web``: real uvicorn with N worker processes on one port.

    python -m bench.web.serve DATABASE_URL PORT WORKERS

uvicorn's ``workers`` needs an import string, so each worker builds its app with ``app()`` below
from the environment (the database is also where the alert pages read the alerts, as when
``alerts.database_url`` is unset).
"""

from __future__ import annotations

import os
import sys

import uvicorn
from fastapi import FastAPI


def app() -> FastAPI:
    from alerts.store import AlertStore
    from ledger.config import LedgerConfig
    from ledger.db import Database
    from ledger.service import LedgerService
    from web import create_app

    url = os.environ["YUQING_BENCH_WEB_DB"]
    svc = LedgerService(Database(url), LedgerConfig())
    return create_app(svc, alerts=AlertStore(url), secret_key="bench-web")


def main() -> None:
    url, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.environ["YUQING_BENCH_WEB_DB"] = url
    uvicorn.run(
        "bench.web.serve:app",
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
