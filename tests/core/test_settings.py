from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.settings import Settings, load_settings
from yuqing.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "yuqing.example.yaml"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "y.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_are_the_embedded_backends() -> None:
    s = load_settings(environ={})
    assert s.bus.url == "sqlite:///yuqing-data/bus.db"
    assert s.store.url == "sqlite:///yuqing-data/store.db"
    assert s.database.url == "sqlite:///yuqing-data/ledger.db"
    assert s.ledger.host == "127.0.0.1"


def test_environment_overrides_file(tmp_path: Path) -> None:
    f = write(tmp_path, "bus:\n  url: sqlite:///a.db\n  partitions: 2\n")
    s = load_settings(
        f, environ={"YUQING_BUS__URL": "kafka://127.0.0.1:9092", "YUQING_BUS__PARTITIONS": "8", "YUQING_STATE_URL": "sqlite:///s.db"}
    )
    assert (s.bus.url, s.bus.partitions, s.state_url) == ("kafka://127.0.0.1:9092", 8, "sqlite:///s.db")


def test_yuqing_config_variable_names_the_file(tmp_path: Path) -> None:
    f = write(tmp_path, "log_level: DEBUG\n")
    assert load_settings(environ={"YUQING_CONFIG": str(f)}).log_level == "DEBUG"


def test_bad_value_names_file_and_key(tmp_path: Path) -> None:
    f = write(tmp_path, "bus:\n  partitions: 0\n")
    with pytest.raises(ConfigError) as err:
        load_settings(f, environ={})
    assert err.value.file == str(f) and err.value.key == "bus.partitions"
    assert str(f) in str(err.value) and "bus.partitions" in str(err.value)


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    f = write(tmp_path, "store:\n  urll: http://x\n")
    with pytest.raises(ConfigError, match=r"unknown setting \(file .*y.yaml, key store.urll\)"):
        load_settings(f, environ={})


def test_unknown_url_scheme_is_a_startup_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown store URL 'mongodb://x'"):
        load_settings(write(tmp_path, "store: {url: 'mongodb://x'}\n"), environ={})


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"environment YUQING_BUS__PARTITIONS, key bus.partitions"):
        load_settings(environ={"YUQING_BUS__PARTITIONS": "many"})


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d+, column \d+"):
        load_settings(write(tmp_path, "bus:\n  url: [unclosed\n"), environ={})


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="cannot read settings"):
        load_settings("nope.yaml", environ={})


def test_sources_validated_per_kind(tmp_path: Path) -> None:
    f = write(tmp_path, "sources:\n  - {id: a, kind: rss, url: http://x/feed}\n  - {id: b, kind: rss}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(f, environ={})
    assert err.value.key == "sources.1.url"
    f = write(tmp_path, "sources:\n  - {id: a, kind: telepathy}\n")
    with pytest.raises(ConfigError, match="unknown source kind 'telepathy'"):
        load_settings(f, environ={})
    f = write(tmp_path, "sources:\n  - {id: a, kind: rss, url: u}\n  - {id: a, kind: rss, url: v}\n")
    with pytest.raises(ConfigError, match="duplicate source id 'a'"):
        load_settings(f, environ={})


def test_secrets_are_not_shown() -> None:
    s = load_settings(environ={"YUQING_STORE__PASSWORD": "hunter2"})
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())
    assert s.store.password is not None and s.store.password.get_secret_value() == "hunter2"


def _keys(model: type, prefix: str = "") -> set[str]:
    from pydantic import BaseModel

    out = set()
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        if name == "source_file":
            continue
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out |= _keys(ann, f"{prefix}{name}.")
        else:
            out.add(prefix + name)
    return out


def _documented(data: dict, prefix: str = "") -> set[str]:
    out = set()
    for k, v in data.items():
        if isinstance(v, dict) and k != "columns":
            out |= _documented(v, f"{prefix}{k}.")
        else:
            out.add(prefix + k)
    return out


def test_every_setting_is_documented_in_the_example() -> None:
    from app.settings import OLD_KEYS

    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert {k for k in _keys(Settings) if not k.startswith(OLD_KEYS)} == _documented(data)
    load_settings(EXAMPLE, environ={})  # and the example itself is valid


# -- one stage's section only (``yuqing classify``) ----------------------------------------
def test_a_partial_settings_reads_its_sections_as_the_combined_settings_do(tmp_path: Path) -> None:
    from processors.settings import ProcessorsSettings
    from yuqing.configfile import load_settings as load_partial

    for name in ProcessorsSettings.model_fields:  # the same fields, of the same types
        assert ProcessorsSettings.model_fields[name].annotation == Settings.model_fields[name].annotation, name
    f = write(tmp_path, EXAMPLE.read_text(encoding="utf-8") + "\nlog_level: WARNING\n")
    env = {"YUQING_PROCESSORS__KEYWORDS": "5", "YUQING_ALERTS__NOPE": "x"}
    part, full = load_partial(f, env, model=ProcessorsSettings), load_settings(f, environ={"YUQING_PROCESSORS__KEYWORDS": "5"})
    assert part.processors == full.processors and part.processors.keywords == 5
    assert (part.log_level, part.source_file) == (full.log_level, full.source_file) == ("WARNING", str(f))


@pytest.mark.parametrize(
    ("text", "env", "origin", "key", "message"),
    [
        ("processors:\n  batch_size: 0\n", {}, "file", "processors.batch_size", "greater than or equal to 1"),
        ("processors:\n  keywordz: 3\n", {}, "file", "processors.keywordz", "unknown setting"),
        ("processors: 7\n", {}, "file", "processors", "valid dictionary"),
        ("log_level: LOUD\n", {}, "file", "log_level", "Input should be"),
        ("", {"YUQING_PROCESSORS__LINGER_MS": "soon"}, "environment YUQING_PROCESSORS__LINGER_MS", "processors.linger_ms", "valid integer"),
    ],
)
def test_a_partial_settings_refuses_a_bad_section_with_the_same_error(
    tmp_path: Path, text: str, env: dict[str, str], origin: str, key: str, message: str
) -> None:
    from processors.settings import ProcessorsSettings
    from yuqing.configfile import load_settings as load_partial

    f = write(tmp_path, text)
    with pytest.raises(ConfigError) as part:
        load_partial(f, env, model=ProcessorsSettings)
    with pytest.raises(ConfigError) as full:
        load_settings(f, environ=env)
    assert str(part.value) == str(full.value)
    assert part.value.key == key and message in str(part.value)
    assert (part.value.file or "").startswith("environment") == (origin != "file")


def test_a_partial_settings_does_not_read_the_other_stages_sections(tmp_path: Path) -> None:
    from processors.settings import ProcessorsSettings
    from yuqing.configfile import load_settings as load_partial

    f = write(tmp_path, "alerts:\n  no_such_key: 1\nprocessors:\n  keywords: 3\n")
    with pytest.raises(ConfigError, match=r"key alerts\.no_such_key"):
        load_settings(f, environ={})
    assert load_partial(f, {}, model=ProcessorsSettings).processors.keywords == 3
