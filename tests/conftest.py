"""Shared fixtures. Real services start from fixture modules in tests/fixtures/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.services"]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own directory with no YUQING_* environment leaking in."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("YUQING_"):
            monkeypatch.delenv(name)
