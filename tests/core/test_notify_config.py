"""Channels are configured once (notify.channels) and named by the alerts, the ledger and the
briefings; the old forms (a channel configured in place, alerts.retry) still work for a release,
each with a warning that names the new key."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from app.settings import Settings, load_settings
from yuqing.errors import ConfigError

HOOK = "{name: hook, type: webhook, url: 'http://127.0.0.1:9/x'}"
UNIT = "县人力资源和社会保障局"


def _load(tmp_path: Path, text: str) -> Settings:
    f = tmp_path / "yuqing.yaml"
    f.write_text(f"database:\n  url: sqlite:///{tmp_path}/db.sqlite\n" + text, encoding="utf-8")
    return load_settings(f, environ={})


def _ledger_channels(settings: Settings) -> tuple[list[str], list[str], list[str]]:
    from ledger.channels import open_ledger_deliveries

    ledger_deliveries = open_ledger_deliveries(settings)
    try:
        return ledger_deliveries.office(), ledger_deliveries.of_unit(UNIT), ledger_deliveries.briefing()
    finally:
        ledger_deliveries.close()


def test_one_channel_named_by_every_part(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="yuqing.settings"):
        s = _load(
            tmp_path,
            f"notify:\n  channels: [{HOOK}]\n  retry: {{attempts: 2, backoff: 1s}}\n"
            "alerts:\n  notifiers: [inbox, hook]\n"
            f"ledger:\n  notifiers: [hook]\n  unit_channels: [{{unit: {UNIT}, notifiers: [hook]}}]\n  briefing: {{recipients: [hook]}}\n",
        )
    assert [n.name for n in s.alerts.notifiers] == ["inbox", "hook"]
    assert s.alerts.notifiers[1].type == "webhook"
    assert _ledger_channels(s) == (["ledger:office:hook"], [f"ledger:unit:{UNIT}:hook"], ["ledger:briefing:hook"])
    assert s.notify.retry.attempts == 2 and s.alerts.retry.attempts == 2  # one retry policy for every part
    assert [r.getMessage() for r in caplog.records] == []


def test_a_channel_configured_in_place_still_works_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="yuqing.settings"):
        s = _load(tmp_path, f"ledger:\n  notifiers: [{HOOK}]\n  briefing: {{recipients: [{HOOK}]}}\n")
    assert _ledger_channels(s) == (["ledger:office:hook"], [], ["ledger:briefing:hook"])
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 2
    assert "ledger.notifiers[0]" in messages[0] and "use notify.channels" in messages[0]
    assert "ledger.briefing.recipients[0]" in messages[1] and "use notify.channels" in messages[1]


def test_alerts_retry_is_read_with_a_warning_naming_notify_retry(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="yuqing.settings"):
        s = _load(tmp_path, "alerts:\n  retry: {attempts: 7}\n")
    assert s.notify.retry.attempts == 7 and s.alerts.retry.attempts == 7
    (message,) = [r.getMessage() for r in caplog.records]
    assert "alerts.retry" in message and "use notify.retry" in message
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, "alerts:\n  retry: {attempts: 7}\nnotify:\n  retry: {attempts: 3}\n")
    assert err.value.key == "alerts.retry"


def test_an_unknown_channel_name_is_refused_where_it_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, f"notify:\n  channels: [{HOOK}]\nledger:\n  unit_channels: [{{unit: {UNIT}, notifiers: [hook, rsj-robot]}}]\n")
    assert err.value.key == "ledger.unit_channels[0].notifiers[1]"
    assert "'rsj-robot'" in str(err.value) and "notify.channels" in str(err.value) and "hook" in str(err.value)


def test_a_bad_channel_is_refused_under_notify_channels(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, "notify:\n  channels: [{name: hook, type: webhook}, {name: hook, type: inbox}]\n")
    assert err.value.key == "notify.channels"
    assert "url" in str(err.value)
