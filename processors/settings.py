"""What ``yuqing classify`` reads of the settings: the log level and the processors' section, from
the same file and environment as the application's combined settings (``app.settings.Settings``),
without building and validating the other stages' sections. A wrong value in the processors'
section is the same ConfigError either way (tests/processors/test_cli_and_worker.py keeps the two
in step)."""

from __future__ import annotations

from processors.config import ProcessorsConfig
from yuqing.configfile import PartialSettings


class ProcessorsSettings(PartialSettings):
    processors: ProcessorsConfig = ProcessorsConfig()
