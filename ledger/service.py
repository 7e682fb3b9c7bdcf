"""The ledger service: one facade over the ledger's parts, each in its own module.

    ledger.accounts     units, users, roles, sign-in, browser sessions, API tokens
    ledger.cases        reading cases (visibility, lists, deadlines, attachments)
    ledger.transitions  changing cases and commitments (state machine, versions, locks)
    ledger.audit        the audit trail and the outbox rows every change writes
    ledger.outbox       the ledger's outbox table on the shared ``yuqing.outbox``
    ledger.disclosure   the commitments published as 已公开
    ledger.meta         key-value rows (shared secrets, case-number counters)

The web app, alert intake, the CLI, reminders and tests call ``LedgerService``; its methods are the
parts' methods, so their names and signatures are the parts'. The database, configuration, bus and
clock live in one ``LedgerContext`` shared by the parts: setting ``service.clock`` (tests, the
demo) or ``service.bus`` (``yuqing run``) reaches every part.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ledger.accounts import Accounts
from ledger.audit import AuditLog
from ledger.cases import CaseQueries, Page, escape_like, view_of
from ledger.config import LedgerConfig
from ledger.context import LedgerContext
from ledger.db import Database
from ledger.disclosure import Disclosure
from ledger.meta import MetaStore
from ledger.outbox import EventOutbox
from ledger.transitions import DERIVED_EVENTS, EDITABLE, Transitions
from yuqing.bus import Bus
from yuqing.timeutil import now as _now

__all__ = ["DERIVED_EVENTS", "EDITABLE", "LedgerService", "Page", "escape_like", "view_of"]


class LedgerService:
    def __init__(
        self, db: Database, config: LedgerConfig | None = None, *, bus: Bus | None = None, clock: Callable[[], datetime] = _now
    ) -> None:
        self.ctx = LedgerContext(db=db, config=config or LedgerConfig(), bus=bus, clock=clock)
        self.accounts = Accounts(self.ctx)
        self.cases = CaseQueries(self.ctx)
        self.outbox = EventOutbox(self.ctx)
        self.audit_log = AuditLog(self.ctx, self.cases, self.outbox)
        self.transitions = Transitions(self.ctx, self.cases, self.audit_log, self.outbox)
        self.disclosure = Disclosure(self.ctx)
        self.meta_store = MetaStore(self.ctx)

        # accounts
        self.list_units = self.accounts.list_units
        self.unit_by_name = self.accounts.unit_by_name
        self.create_unit = self.accounts.create_unit
        self.set_unit_active = self.accounts.set_unit_active
        self.list_users = self.accounts.list_users
        self.create_user = self.accounts.create_user
        self.set_password = self.accounts.set_password
        self.set_user_active = self.accounts.set_user_active
        self.authenticate = self.accounts.authenticate
        self.actor = self.accounts.actor
        self.start_session = self.accounts.start_session
        self.actor_for_session = self.accounts.actor_for_session
        self.end_session = self.accounts.end_session
        self.end_sessions = self.accounts.end_sessions
        self.issue_token = self.accounts.issue_token
        self.list_tokens = self.accounts.list_tokens
        self.revoke_token = self.accounts.revoke_token
        self.actor_for_token = self.accounts.actor_for_token
        # key-value rows
        self.meta = self.meta_store.meta
        # reading cases
        self.overdue_clause = self.cases.overdue_clause
        self.deadline_clause = self.cases.deadline_clause
        self.list_cases = self.cases.list_cases
        self.get_case = self.cases.get_case
        self.is_overdue = self.cases.is_overdue
        self.get_attachment = self.cases.get_attachment
        self.cases_for_alerts = self.cases.cases_for_alerts
        self.case_numbers_for_alerts = self.cases.case_numbers_for_alerts
        # changing cases and commitments
        self.create_case = self.transitions.create_case
        self.open_case = self.transitions.open_case
        self.act = self.transitions.act
        self.add_commitment = self.transitions.add_commitment
        self.act_on_commitment = self.transitions.act_on_commitment
        # audit
        self.audit = self.audit_log.audit
        self.record_system_event = self.audit_log.record_system_event
        # outbox -> bus
        self.flush_outbox = self.outbox.flush_outbox
        self.flush_pending = self.outbox.flush_pending
        # public disclosure
        self.disclosed_commitments = self.disclosure.disclosed_commitments

    # The shared context, readable and settable on the facade as before the split.
    @property
    def db(self) -> Database:
        return self.ctx.db

    @db.setter
    def db(self, value: Database) -> None:
        self.ctx.db = value

    @property
    def config(self) -> LedgerConfig:
        return self.ctx.config

    @config.setter
    def config(self, value: LedgerConfig) -> None:
        self.ctx.config = value

    @property
    def bus(self) -> Bus | None:
        return self.ctx.bus

    @bus.setter
    def bus(self, value: Bus | None) -> None:
        self.ctx.bus = value

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.ctx.clock

    @clock.setter
    def clock(self, value: Callable[[], datetime]) -> None:
        self.ctx.clock = value
