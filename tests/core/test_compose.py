"""docker-compose.yml parses (Debian's docker-compose, no engine needed) and every yuqing service's
command and environment match the CLI and the settings schema."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import click
import pytest
import yaml

from app.cli import main
from app.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed (scripts/install-test-deps.sh installs it)")
    env = {"ELASTIC_PASSWORD": "es-secret", "POSTGRES_PASSWORD": "pg-secret", "PATH": "/usr/bin:/bin"}
    res = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config"], capture_output=True, text=True, env=env, check=False)
    assert res.returncode == 0, res.stderr
    return yaml.safe_load(res.stdout)


def test_compose_refuses_to_start_without_secrets() -> None:
    res = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert res.returncode != 0 and "ELASTIC_PASSWORD" in res.stderr + res.stdout


def _yuqing_services(compose: dict) -> dict[str, dict]:
    return {name: svc for name, svc in compose["services"].items() if svc.get("image") == "yuqing:latest"}


def test_infrastructure_services(compose: dict) -> None:
    services = compose["services"]
    assert {"kafka", "elasticsearch", "postgres"} <= set(services)
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    es = services["elasticsearch"]["environment"]
    assert es["discovery.type"] == "single-node" and es["xpack.security.enabled"] == "true"
    assert services["elasticsearch"]["image"].split(":")[-1].startswith("8.")


def test_every_worker_runs_a_real_command(compose: dict) -> None:
    workers = _yuqing_services(compose)
    assert {"collect", "process", "alerts", "ledger"} <= set(workers)
    ctx = click.Context(main)
    for name, svc in workers.items():
        group: click.Command = main
        for word in svc["command"]:
            assert isinstance(group, click.Group), f"{name}: {svc['command']} goes past a command"
            cmd = group.get_command(ctx, word)
            assert cmd is not None, f"service {name}: `yuqing {' '.join(svc['command'])}` is not a command"
            group = cmd
        assert not isinstance(group, click.Group), f"service {name}: {svc['command']} names a group, not a command"


def test_every_worker_environment_is_valid_settings(compose: dict, tmp_path: Path) -> None:
    for name, svc in _yuqing_services(compose).items():
        env = {k: str(v) for k, v in svc["environment"].items()}
        env["YUQING_CONFIG"] = str(ROOT / "config" / "yuqing.example.yaml")  # the file mounted at /etc/yuqing
        s = load_settings(environ=env)
        assert s.bus.url == "kafka://kafka:9092", name
        assert s.store.url == "http://elasticsearch:9200" and s.store.password is not None
        assert s.store.password.get_secret_value() == "es-secret"
        assert s.database.url == "postgresql+psycopg://yuqing:pg-secret@postgres:5432/yuqing"
        if name == "ledger":
            assert s.ledger.host == "0.0.0.0"
            assert all(str(p).startswith("127.0.0.1:") for p in svc["ports"]), svc["ports"]
        else:
            assert "ports" not in svc, f"{name} must not publish ports"


def test_two_alert_engines_share_one_database(compose: dict) -> None:
    engines = {n: s for n, s in _yuqing_services(compose).items() if s["command"] == ["alerts", "run"]}
    assert len(engines) >= 2, "one active alert engine and at least one standby"
    urls = {s["environment"]["YUQING_DATABASE__URL"] for s in engines.values()}
    assert len(urls) == 1 and next(iter(urls)).startswith("postgresql"), "the lease lives in the shared database"


def test_several_processing_workers_and_sizing_variables(compose: dict) -> None:
    process = _yuqing_services(compose)["process"]
    assert int(process["deploy"]["replicas"]) >= 2  # stateless event clustering: workers share posts.raw
    env = process["environment"]
    assert int(env["YUQING_BUS__PARTITIONS"]) >= int(process["deploy"]["replicas"])
    assert {"YUQING_STORE__NUMBER_OF_SHARDS", "YUQING_STORE__NUMBER_OF_REPLICAS"} <= set(env)
    load_settings(environ={k: str(v) for k, v in env.items() if k.startswith("YUQING_") and k != "YUQING_CONFIG"})
