"""Loading a plug-in class named in a settings or rules file."""

from __future__ import annotations

import importlib
from typing import Any


def import_path(target: str) -> Any:
    """``pkg.mod:Name`` or ``pkg.mod.Name``."""
    module, sep, name = target.partition(":")
    if not sep:
        module, _, name = target.rpartition(".")
    if not module or not name:
        raise ImportError(f"{target!r} is not a dotted path")
    return getattr(importlib.import_module(module), name)
