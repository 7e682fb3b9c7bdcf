from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LedgerConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8600, ge=0, le=65535)
