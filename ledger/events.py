"""The ledger's bus events live in the core (``yuqing.ledger_events``), beside the posts' events,
so that the alert engine can read them without importing the ledger. Re-exported here."""

from yuqing.ledger_events import (
    SCHEMA_VERSION,
    TOPIC,
    CaseEvent,
    CaseEventType,
    CommitmentEvent,
    CommitmentEventType,
    LedgerEvent,
    decode,
    local,
    make_event,
)

__all__ = [
    "SCHEMA_VERSION",
    "TOPIC",
    "CaseEvent",
    "CaseEventType",
    "CommitmentEvent",
    "CommitmentEventType",
    "LedgerEvent",
    "decode",
    "local",
    "make_event",
]
