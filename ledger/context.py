"""What every part of the ledger service shares: the database, the configuration, the bus and the clock.

One mutable object, so that the facade (``ledger.service.LedgerService``) can swap the clock, the bus
or the configuration (tests and the demo move the clock; ``yuqing run`` attaches the bus after start)
and every part sees the change at its next call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ledger.config import LedgerConfig
from ledger.db import Database
from yuqing.bus import Bus


@dataclass
class LedgerContext:
    db: Database
    config: LedgerConfig
    bus: Bus | None
    clock: Callable[[], datetime]
