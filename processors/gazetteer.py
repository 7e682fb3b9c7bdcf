"""Region from a configurable gazetteer: county -> townships -> villages/communities.

The most specific place named in a post wins; the answer is the full path
(``彭泽县/芙蓉墩镇/长山村``). Short names without the 镇/乡/村 suffix are matched too
(``马当``), but only for township names of at least two characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from yuqing.errors import ConfigError

DEFAULT = Path(__file__).with_name("gazetteer_pengze.yaml")
_SUFFIXES = ("镇", "乡", "街道", "社区", "村")


@dataclass(frozen=True)
class Place:
    name: str
    path: str
    depth: int


class Gazetteer:
    def __init__(self, places: list[Place]) -> None:
        self.places = places
        # Longest names first, so 芙蓉墩镇 beats 芙蓉.
        self._names = sorted({(alias, p) for p in places for alias in _aliases(p)}, key=lambda x: (-len(x[0]), -x[1].depth))

    @classmethod
    def load(cls, path: str | Path | None = None) -> Gazetteer:
        file = Path(path) if path else DEFAULT
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot load gazetteer: {exc}", file=str(file)) from exc
        places: list[Place] = []

        def walk(node: Any, prefix: str, depth: int) -> None:
            if isinstance(node, dict):
                for name, child in node.items():
                    path = f"{prefix}/{name}" if prefix else str(name)
                    places.append(Place(str(name), path, depth))
                    walk(child, path, depth + 1)
            elif isinstance(node, list):
                for name in node:
                    walk({name: None}, prefix, depth)
            elif node is not None:
                raise ConfigError(f"gazetteer entries must be mappings or lists, got {node!r}", file=str(file), key=prefix)

        walk(data, "", 0)
        if not places:
            raise ConfigError("gazetteer is empty", file=str(file))
        return cls(places)

    def locate(self, text: str) -> str | None:
        best: Place | None = None
        for alias, place in self._names:
            if alias in text and (best is None or place.depth > best.depth):
                best = place
        return best.path if best else None


def _aliases(place: Place) -> list[str]:
    names = [place.name]
    for suffix in _SUFFIXES:
        if place.name.endswith(suffix) and len(place.name) - len(suffix) >= 2 and place.depth == 1:
            names.append(place.name[: -len(suffix)])
    return names
