"""Source settings: every setting of every kind documented, and load-time validation naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.settings import load_settings
from collectors.registry import KINDS, collector_class
from yuqing.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "sources.example.yaml"


def test_every_setting_of_every_kind_is_documented() -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    by_kind = {s["kind"]: s for s in data["sources"]}
    assert set(by_kind) == set(KINDS)
    for kind, entry in by_kind.items():
        assert set(entry) == set(collector_class(kind).Config.model_fields), kind
    settings = load_settings(EXAMPLE, environ={})  # and the example is valid
    assert [s.kind for s in settings.sources] == list(by_kind)


def test_the_main_example_runs_all_five_kinds() -> None:
    settings = load_settings(ROOT / "config" / "yuqing.example.yaml", environ={})
    assert sorted({s.kind for s in settings.sources}) == sorted(KINDS)


@pytest.mark.parametrize(
    ("source", "key", "message"),
    [
        ("{id: a, kind: rss, url: u, timeout: 0}", "sources.0.timeout", "greater than 0"),
        ("{id: a, kind: rss, url: u, fetch_articles: true}", "sources.0.fetch_articles", "unknown setting"),
        ("{id: a, kind: rss, url: u, article_selector: 'div[['}", "sources.0.article_selector", "invalid CSS selector"),
        ("{id: a, kind: hotline, path: p, columns: {id: 编号, colour: 颜色}}", "sources.0.columns.colour", "unknown post field"),
        ("{id: a, kind: hotline, path: p, columns: {content: ''}}", "sources.0.columns.content", "cannot be switched off"),
        ("{id: a, kind: liuyan, fid: '1', rows: 0}", "sources.0.rows", "greater than or equal to 1"),
        ("{id: a, kind: replay, path: p, rate: -1}", "sources.0.rate", "greater than 0"),
        ("{id: A, kind: rss, url: u}", "sources.0.id", "lower-case slug"),
    ],
)
def test_bad_source_fails_at_load_naming_file_and_key(tmp_path: Path, source: str, key: str, message: str) -> None:
    f = tmp_path / "y.yaml"
    f.write_text(f"sources:\n  - {source}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(f, environ={})
    assert (err.value.file, err.value.key) == (str(f), key)
    assert message in str(err.value)
