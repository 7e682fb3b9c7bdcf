from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProcessorsConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    batch_size: int = Field(500, ge=1, le=10000, description="posts per bus poll and store bulk write")
    linger_ms: int = Field(200, ge=0, description="how long a poll waits to fill a batch")
    gazetteer: str | None = Field(None, description="YAML gazetteer; default: the bundled 彭泽县 one")
    county_sources: list[str] = Field(
        default_factory=list,
        description="ids of sources that are the county's own (e.g. its 12345 hotline): their posts are taken to be "
        "about the gazetteer's county even when the text names no distinctive place",
    )
    event_window_hours: float = Field(72.0, gt=0, description="posts this close in time may share an event")
    event_max_distance: int = Field(
        10, ge=0, le=32, description="unused since events are grouped by names and MinHash (kept so older settings files load)"
    )
    keywords: int = Field(8, ge=0, le=50)
