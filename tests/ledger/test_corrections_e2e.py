"""纠错 end to end (the issue's "done when"): a monitor corrects a post's topic over real HTTP
(uvicorn), ``yuqing corrections export`` writes it as labelled data, training with the
corrections changes what the model says about that post (and training without them does not).
Trained on a small label set into temporary directories: the shipped model is never touched."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner

from app.cli import main as cli
from corrections.export import corrections_for_training
from processors.models import Models
from processors.train import MODELS, load_rows
from processors.train import main as train
from tests.ledger.conftest import PASSWORD, Env
from tests.ledger.test_corrections_web import cenv, other, posts  # noqa: F401  (fixtures)
from yuqing.events import PostClassified
from yuqing.store import Store
from yuqing.text import tokenize

pytestmark = pytest.mark.slow
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
PER_TOPIC = 30  # labelled board posts per topic in the small training set


@pytest.fixture
def live(cenv: tuple[Env, Store], live_server: str) -> Iterator[str]:  # noqa: F811
    yield live_server


def small_labels(path: Path) -> Path:
    by_topic: dict[str, list[dict]] = defaultdict(list)
    for r in load_rows():
        if "corpus" not in r and len(by_topic[r["topic"]]) < PER_TOPIC:
            by_topic[r["topic"]].append(r)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for rows in by_topic.values() for r in rows), encoding="utf-8")
    return path


def predict(models_dir: Path, post: PostClassified) -> str:
    return Models.load(models_dir).predict(post.title, post.content, tokenize(post.title), tokenize(post.content)).topic


def test_correct_in_the_ui_export_train_and_the_model_changes(
    cenv: tuple[Env, Store],  # noqa: F811
    live: str,
    posts: list[PostClassified],  # noqa: F811
    tmp_path: Path,
) -> None:
    env, _ = cenv
    post = posts[10]
    shipped = predict(MODELS, post)
    assert shipped == post.topic  # the store holds what the shipped model said
    new = other(post.topic)
    shipped_files = {p.name: p.read_bytes() for p in MODELS.iterdir() if p.is_file()}

    # 1. In the UI, over HTTP: sign in as the monitor, open the post, change the topic, save.
    with httpx.Client(base_url=live, follow_redirects=False) as web:
        token = CSRF.search(web.get("/login").text).group(1)  # type: ignore[union-attr]
        r = web.post("/login", data={"username": env.world.actors["monitor"].username, "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 303
        page = web.get("/posts/" + quote(post.id, safe=""))
        assert page.status_code == 200
        token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        form = {"csrf_token": token, "topic": new, "sentiment": post.sentiment, "risk_level": post.risk.level, "region": post.region or ""}
        saved = web.post("/posts/" + quote(post.id, safe="") + "/corrections", data=form)
        assert saved.status_code == 303
        assert "已纠错" in web.get(saved.headers["location"]).text

    # 2. Export with the CLI, from the ledger's database.
    export = tmp_path / "corrections.jsonl"
    config = tmp_path / "yuqing.yaml"
    config.write_text(f"database:\n  url: {env.url}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["-c", str(config), "corrections", "export", "-o", str(export)])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert (row["id"], row["topic"], row["corrected"]) == (post.id, new, ["topic"])

    # 3. Train on a small label set with and without the corrections.
    labels = small_labels(tmp_path / "labels.jsonl")
    fixed = corrections_for_training(env.url, export)
    assert [r["id"] for r in fixed] == [post.id]
    with_dir, without_dir = tmp_path / "with", tmp_path / "without"
    metrics = train(out=with_dir, labels=labels, corrections=fixed, resamples=100, echo=lambda _: None)
    assert metrics["corrections"] == 1
    train(out=without_dir, labels=labels, corrections=[], resamples=100, echo=lambda _: None)
    assert predict(with_dir, post) == new
    assert predict(without_dir, post) != new
    assert {p.name: p.read_bytes() for p in MODELS.iterdir() if p.is_file()} == shipped_files  # the shipped model untouched
