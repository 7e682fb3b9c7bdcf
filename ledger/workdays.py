"""Deadlines in Chinese working days: the ledger uses the process-wide calendar of
:mod:`yuqing.workdays` (chinesecalendar, overridden by ``calendar.years`` in the settings)."""

from yuqing.workdays import add_workdays, due_at, extend, is_workday, workdays_between, workdays_left

__all__ = ["add_workdays", "due_at", "extend", "is_workday", "workdays_between", "workdays_left"]
