"""Schemes as YAML: ``schemes: [{name, team, include, exclude, regions, sources, topics, active}]``."""

from __future__ import annotations

from typing import Any

import yaml

from schemes.model import Scheme, SchemeError, validate_all


def load_yaml(text: str, where: str = "schemes.yaml") -> list[Scheme]:
    """Parse and validate every scheme; SchemeError lists every problem (with YAML line numbers
    for syntax errors)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise SchemeError([f"{where}{at}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from exc
    rows: Any = doc.get("schemes") if isinstance(doc, dict) else doc
    if not isinstance(rows, list):
        raise SchemeError([f"{where}: expected a list of schemes (or a mapping with key 'schemes'), found {type(rows).__name__}"])
    return validate_all(rows, where=where)


class _Literal(str):
    pass


def _literal(dumper: yaml.SafeDumper, data: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style="|" if "\n" in data else None)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)


def dump_yaml(schemes: list[Scheme]) -> str:
    rows = []
    for s in schemes:
        d = s.model_dump()
        d["include"] = _Literal(s.include)
        rows.append(d)
    return yaml.dump({"schemes": rows}, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=200)
