"""The application's command (app.cli): the stages' command groups load lazily, every lazy name
resolves to a click command, and a light command does not import the database or web stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "fastapi", "uvicorn", "apscheduler", "alerts.engine", "ledger.service", "web")


def _modules_after(*args: str, env: dict[str, str] | None = None, probe: tuple[str, ...] = HEAVY) -> list[str]:
    code = (
        "import sys\nfrom app.cli import main\n"
        f"try:\n    main({list(args)!r})\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {probe!r} if m in sys.modules))"
    )
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environ, cwd=ROOT, timeout=120)
    return eval(out.stdout.strip().splitlines()[-1])  # a list literal printed by the child


def test_classify_help_imports_no_database_and_no_web_stack() -> None:
    assert _modules_after("classify", "--help") == []


# The other stages' settings (built and validated by ``app.settings``): ~50 ms of start-up.
OTHER_SETTINGS = ("app.settings", "alerts.config", "ledger.config", "collectors.config", "notify.config")


def test_classify_reads_only_the_processors_settings(tmp_path: Path) -> None:
    src = tmp_path / "one.jsonl"
    src.write_text('{"title": "路灯坏了", "content": "小区路灯坏了一个月"}\n', encoding="utf-8")
    assert _modules_after("classify", str(src), probe=OTHER_SETTINGS + HEAVY) == []
    # the control: a command that needs the combined settings (stopped by a bad alerts section)
    bad = tmp_path / "bad.yaml"
    bad.write_text("alerts:\n  not_a_key: 1\n", encoding="utf-8")
    assert "app.settings" in _modules_after("-c", str(bad), "doctor", probe=OTHER_SETTINGS)


def test_the_probe_sees_a_command_that_needs_the_database(tmp_path: Path) -> None:
    # The control: the same probe reports SQLAlchemy once a command really uses the database.
    loaded = _modules_after("ledger", "migrate", env={"YUQING_DATABASE__URL": f"sqlite:///{tmp_path}/ledger.db"})
    assert "sqlalchemy" in loaded
    assert (tmp_path / "ledger.db").exists()


def test_every_lazy_command_resolves_and_help_lists_them() -> None:
    from app.cli import LAZY_COMMANDS, main

    ctx = click.Context(main)
    for name in LAZY_COMMANDS:
        cmd = main.get_command(ctx, name)
        assert isinstance(cmd, click.Command), name
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert set(LAZY_COMMANDS) | {"run", "process", "search", "doctor", "demo"} == listed


def test_ledger_serve_comes_from_the_web_package() -> None:
    from app.cli import main

    ledger = main.get_command(click.Context(main), "ledger")
    assert isinstance(ledger, click.Group)
    serve = ledger.get_command(click.Context(ledger), "serve")
    assert serve is not None and serve.callback is not None and serve.callback.__module__ == "web.cli"


def test_every_yuqing_process_collects_garbage_at_the_tuned_thresholds() -> None:
    # A child process, since the group callback sets the thresholds of the process it runs in.
    code = (
        "import gc\nfrom app.cli import main\n"
        "before = gc.get_threshold()\n"
        "try:\n    main(['classify', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(before, gc.get_threshold())"
    )
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environ, cwd=ROOT, timeout=120)
    from yuqing.clikit import GC_THRESHOLDS

    assert out.stdout.strip().splitlines()[-1] == f"(700, 10, 10) {GC_THRESHOLDS}"
