"""What every command needs, for the stage packages' command groups: the click context object
(``Ctx``: the settings, loaded on first use, or only the sections a command needs), signal
handling and the ``--since`` parser.

The core knows no stage: the application (``app.cli``) builds the ``yuqing`` group, hands
``Ctx`` the loader of the combined settings and registers the stages' command groups.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from yuqing.timeutil import parse_since

if TYPE_CHECKING:
    from yuqing.configfile import PartialSettings

    P = TypeVar("P", bound=PartialSettings)

log = logging.getLogger("yuqing")


# Python's cyclic collector makes a young-generation pass every 700 allocations by default. The
# classify step allocates thousands of short-lived objects per post (token lists, regex matches,
# small dicts) that reference counting frees; the passes found almost nothing and cost ~9 % of
# the step (bench/classify, 2,000 real posts). Every ``yuqing`` process collects less often:
# young objects are scanned every 10,000 allocations, the older generations as by default.
GC_THRESHOLDS = (10_000, 10, 10)


def tune_gc() -> None:
    """Set the cyclic collector's thresholds for yuqing's processes (``GC_THRESHOLDS``)."""
    gc.set_threshold(*GC_THRESHOLDS)


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # kafka-python and elastic_transport log every connection at INFO.
    for noisy in ("kafka", "elastic_transport", "apscheduler", "httpx", "jieba", "alembic", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # kafka-python logs ERROR on every reconnect attempt while a broker is down (several a
    # second); the bus adapter turns failures into BusError and the worker logs each outage once.
    if level != "DEBUG":
        logging.getLogger("kafka").setLevel(logging.CRITICAL)


class Ctx:
    """The ``yuqing`` group's context object. ``settings`` is the application's combined settings
    (``app.settings.Settings``), loaded by the loader the application passes in."""

    def __init__(self, config: str | None, loader: Callable[[str | None], Any]) -> None:
        self.config_path = config
        self._loader = loader
        self._settings: Any = None

    @property
    def settings(self) -> Any:
        if self._settings is None:
            self._settings = self._loader(self.config_path)
            setup_logging(self._settings.log_level)
        return self._settings

    def partial_settings(self, model: type[P]) -> P:
        """Only the log level and the sections ``model`` declares (a
        ``yuqing.configfile.PartialSettings``), from the same file and environment as
        ``settings``: for a command that needs one stage's section, without building and
        validating every stage's (~45 ms of ``yuqing classify``'s start-up). Sets up logging as
        ``settings`` does."""
        from yuqing.configfile import load_settings

        partial = load_settings(self.config_path, None, model=model)
        setup_logging(partial.log_level)
        return partial


pass_ctx = click.make_pass_decorator(Ctx)


def ctx_settings() -> Any:
    """The settings of the running ``yuqing`` command, for commands without ``pass_ctx``."""
    obj = click.get_current_context().find_root().obj
    return obj.settings


def on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` instead of killing the process."""

    def handler(signum: int, frame: Any) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def since_option(value: str | None) -> Any:
    """A ``--since``/``--until`` value as a datetime (None when not given); a bad value is a
    click usage error naming it."""
    if not value:
        return None
    dt = parse_since(value)
    if dt is None:
        raise click.BadParameter(f"{value!r}: use 24h, 7d, 2026-11-01 or an ISO time")
    return dt
