"""Settings of a durable delivery: how often a failed attempt is retried and how long to wait."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from yuqing.duration import Duration


class RetryConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    attempts: int = Field(default=4, ge=1, le=20, description="delivery attempts per channel, the first included")
    backoff: Duration = Field(default=timedelta(seconds=2), description="wait before the second attempt; doubles each time")
    max_backoff: Duration = timedelta(minutes=5)
