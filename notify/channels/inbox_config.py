"""The in-app inbox's settings, apart from the notifier (``notify.channels.inbox``) so that
loading the default settings, which name an inbox, does not import SQLAlchemy (~0.2 s of every
command's start-up, `yuqing classify` included)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from notify.base import NotifierConfig


class InboxConfig(NotifierConfig):
    type: Literal["inbox"] = "inbox"
    box: str | None = Field(default=None, description="inbox name (a unit or a duty desk); default: the notifier's name")
    database_url: str | None = Field(default=None, description="null = alerts.database_url / database.url")
