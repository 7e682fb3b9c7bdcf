"""Cleaning of text typed in or sent by API callers, before it is stored.

Removed: NUL and the other C0/C1 control characters except tab and line breaks (NUL cannot be
stored in PostgreSQL text and ends strings elsewhere), and the Unicode bidirectional controls
(U+202A–U+202E embeddings and overrides, U+2066–U+2069 isolates, U+200E/U+200F/U+061C marks), with
which a name such as ``张三\u202e阿里`` is shown reversed and so disguised. Chinese text never needs them.
"""

from __future__ import annotations

import re

_UNWANTED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: str) -> str:
    return _UNWANTED.sub("", value)


def has_unwanted(value: str) -> bool:
    return _UNWANTED.search(value) is not None
