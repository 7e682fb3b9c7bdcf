"""The ledger web service alone, for the benchmark: ``python -m bench.ledger.serve DATABASE_URL PORT``."""

from __future__ import annotations

import sys

import uvicorn

from ledger.config import LedgerConfig
from ledger.db import Database
from ledger.service import LedgerService
from web import create_app


def main() -> None:
    url, port = sys.argv[1], int(sys.argv[2])
    svc = LedgerService(Database(url), LedgerConfig(port=port))
    uvicorn.run(create_app(svc, secret_key="bench"), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
