"""Run feedparser's own test corpus through the RSS collector over local HTTP (issue 16).

feedparser's sdist holds ``tests/`` with some 2,200 feed files (well-formed and ill-formed
feeds, entities, charsets, HTTP status and compression cases). This script serves them the way
feedparser's ``runtests.py`` does (the ``Header:`` lines of a file become response headers; the
``compression/`` files are sent with ``Content-Encoding`` gzip or deflate) and runs each through
``run_source`` (fetch, charset, parse, de-duplicate, publish to an embedded bus), counting:

- crashes: an exception other than ``SourceError`` reaching ``run_source`` ("unexpected error");
- items published;
- errors, and how many name the URL they are about;
- as a baseline in the same run, what plain ``feedparser.parse`` makes of the same URLs.

Get the corpus and run (not a test, not timed)::

    pip download --no-deps --no-binary :all: feedparser==6.0.14 -d /tmp/fp
    tar xzf /tmp/fp/feedparser-6.0.14.tar.gz -C /tmp/fp
    PYTHONPATH=$PWD python scripts/feed_corpus.py /tmp/fp/feedparser-6.0.14

The last line is ``RESULT files=... crashes=... published=... errors=... errors_with_url=...``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import feedparser

from collectors.config import SourceConfig
from collectors.registry import make_collector
from collectors.service import run_source
from collectors.state import StateStore
from yuqing.bus.sqlite import SqliteBus

HEADER = re.compile(rb"^Header:\s+([^:]+):(.+)$", re.MULTILINE)


def corpus_files(root: Path) -> list[Path]:
    tests = root / "tests"
    return sorted(p for p in tests.rglob("*") if p.is_file() and p.suffix != ".py")


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """feedparser's test server: headers from the file, 304 for its validators, compression by name."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/-/return-304.xml":
                self.send_response(304)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path = root / unquote(self.path.split("?")[0]).lstrip("/")
            if not path.is_file():
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            blob = path.read_bytes()
            if self.path.startswith("/tests/compression"):
                headers = {"Content-Encoding": "gzip" if self.path.endswith("gz") else "deflate", "Content-type": "application/xml"}
            else:
                headers = {k.decode("utf-8"): v.decode("utf-8").strip() for k, v in HEADER.findall(blob)}
            status = int(headers.pop("Status", 200))
            if self.headers.get("if-modified-since") == headers.get("Last-Modified", "nom") or self.headers.get(
                "if-none-match"
            ) == headers.get("ETag", "nomatch"):
                status = 304
            self.send_response(status)
            headers.setdefault("Content-type", "application/xml")
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(blob)))
            self.end_headers()
            self.wfile.write(blob)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Crashes(logging.Handler):
    """Counts log records that carry a traceback (``run_source``'s "unexpected error")."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", type=Path, help="the unpacked feedparser sdist (holding tests/)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (0 = all)")
    ap.add_argument("--show", type=int, default=10, help="examples shown per kind of outcome")
    ap.add_argument("--out", type=Path, help="write one JSON line per file (to compare two runs)")
    args = ap.parse_args(argv)
    files = corpus_files(args.root)
    if args.limit:
        files = files[: args.limit]
    if not files:
        print(f"no corpus files under {args.root}/tests", file=sys.stderr)
        return 2
    logging.getLogger("yuqing").setLevel(logging.CRITICAL + 1)  # quiet; outcomes are counted below
    crashes = Crashes()
    logging.getLogger("yuqing.collectors").addHandler(crashes)
    stats: Counter[str] = Counter()
    by_dir: dict[str, Counter[str]] = {}
    examples: dict[str, list[str]] = {}
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, serve(args.root) as base:
        bus = SqliteBus(f"sqlite:///{tmp}/bus.db", partitions=1)
        state = StateStore(f"sqlite:///{tmp}/state.db")
        for i, path in enumerate(files):
            rel = path.relative_to(args.root).as_posix()
            url = f"{base}/{rel}"
            group = "/".join(rel.split("/")[1:3]) if rel.startswith("tests/wellformed") else rel.split("/")[1]
            d = by_dir.setdefault(group, Counter())
            d["files"] += 1
            stats["files"] += 1
            # Baseline: plain feedparser on the same URL.
            fp = feedparser.parse(url)
            d["feedparser_entries"] += len(fp.entries)
            stats["feedparser_entries"] += len(fp.entries)
            stats["feedparser_bozo"] += bool(fp.get("bozo"))
            before = len(crashes.records)
            cfg = SourceConfig(id=f"fp{i}", kind="rss", url=url, retries=0, timeout=10)
            collector = make_collector(cfg)
            try:
                report = run_source(collector, bus, state)
            finally:
                collector.close()
            d["published"] += report.published
            stats["published"] += report.published
            stats["problems"] += len(report.problems)
            if len(crashes.records) > before:
                stats["crashes"] += 1
                d["crashes"] += 1
                examples.setdefault("crash", []).append(f"{rel}: {report.error}")
            elif report.error:
                stats["errors"] += 1
                d["errors"] += 1
                named = url in report.error or f"{base}/" in report.error
                stats["errors_with_url" if named else "errors_without_url"] += 1
                examples.setdefault("error" if named else "error without URL", []).append(f"{rel}: {report.error}")
            rows.append({"file": rel, "published": report.published, "error": report.error, "problems": report.problems})
            if report.published == 0 and not report.error and fp.entries:
                stats["files_where_feedparser_found_entries_we_published_none"] += 1
                examples.setdefault("no items where feedparser had some", []).append(f"{rel}: {report.problems[:2]}")
        bus.close()
        state.close()
    took = time.perf_counter() - started
    if args.out:
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{'group':<28}{'files':>7}{'crashes':>9}{'errors':>8}{'published':>11}{'feedparser entries':>20}")
    for group, d in sorted(by_dir.items()):
        print(f"{group:<28}{d['files']:>7}{d['crashes']:>9}{d['errors']:>8}{d['published']:>11}{d['feedparser_entries']:>20}")
    for kind, lines in examples.items():
        print(f"\n{kind}: {len(lines)}")
        for line in lines[: args.show]:
            print(f"  {line[:220]}")
    print(f"\n{stats['files']} files in {took:.1f} s")
    print(
        "RESULT "
        + " ".join(
            f"{k}={stats[k]}"
            for k in (
                "files",
                "crashes",
                "published",
                "problems",
                "errors",
                "errors_with_url",
                "errors_without_url",
                "files_where_feedparser_found_entries_we_published_none",
                "feedparser_entries",
                "feedparser_bozo",
            )
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
