"""Region from a configurable gazetteer: county -> townships -> villages/communities.

The answer is a path, ``彭泽县/芙蓉墩镇/长山村``, or ``None``. How a post's place is chosen:

1. Every name, alias and old name of every place is found with one compiled pattern (a trie of all
   names; the longest name at a position wins and names inside an accepted one are skipped). A name of at most two characters (``彭泽``, ``马当``) counts
   only where it starts and ends on a boundary of the project's tokens, so ``一马当先`` is not 马垱镇.
   A name right after another county or city (``长沙县黄花镇``, ``A7县…``) is about that place and
   is dropped.
2. A post gets a region only with evidence that it is about the county: the county's name, a
   *distinctive* place (a name no other place in China has, per the gazetteer), or a source that is
   the county's own (``county_source=True``). Without it, same-named towns of other counties
   (黄花镇, 龙城镇, 东升镇) and common village names give no region.
3. The town: named right after the county (``彭泽县马垱镇``) beats named in the title, which beats
   named in the body; then more mentions, then the earlier mention, then the gazetteer's order.
   A village votes for its town. A village name that exists in two towns votes for none.
4. The village or community: one inside the chosen town, ranked the same way. A name that exists in
   two towns is resolved only by the town chosen from other evidence; otherwise the post gets the
   county alone (``彭泽县``): the town is not guessed.

Every tie is broken by position or by the gazetteer's order, never by hash or set order, so the
result is the same in every process.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from yuqing.errors import ConfigError

DEFAULT = Path(__file__).with_name("gazetteer_pengze.yaml")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_KEYS = {"code", "aliases", "county_aliases", "other_names", "distinctive", "namesake_elsewhere", "places"}
# Forms a 村/社区 is also written in.
_VILLAGE_FORMS = {"村": ("村委会", "村民委员会"), "社区": ("居委会", "居民委员会")}
# Words ending in 县/市/区/省 before a town that do not name another county.
_NEUTRAL_BEFORE = (
    "本县",
    "我县",
    "全县",
    "该县",
    "本市",
    "我市",
    "全市",
    "该市",
    "本区",
    "我区",
    "全区",
    "城区",
    "市区",
    "县区",
    "九江市",
    "江西省",
)
_FOREIGN_END = "县市区省州旗"
_SHORT = 2  # names of at most this many characters must stand as whole tokens
# A short name followed by a one-character token is read as a person's name (彭泽泉, 彭泽林) unless
# that character is one that follows a place name.
_AFTER_PLACE = set("人的县市城镇乡村区港湾站段话籍鲫矶路街口境和与及到在是有也都还就等这那里内外边一各")


@dataclass(frozen=True)
class Place:
    name: str
    path: str
    depth: int
    index: int  # order in the gazetteer file: the last tie-break
    distinctive: bool = False
    parent: int | None = None
    # a town of the same name elsewhere has a village of this name too: "town + village" is no evidence
    namesake_elsewhere: bool = False


@dataclass(frozen=True)
class _Name:
    places: tuple[int, ...]  # more than one: the name is shared by places of different towns
    evidence: bool  # naming it shows the post is about the county


@dataclass
class _Mention:
    name: str
    places: tuple[int, ...]
    start: int  # in the title, or len(title) + 1 + offset in the body
    end: int
    in_title: bool
    explicit: bool = False  # right after its county (or, for a village, right after its town)
    evidence: bool = False


@dataclass
class _Rank:
    explicit: bool = False
    title: bool = False
    count: int = 0
    first: int = 1 << 30
    index: int = 0

    def key(self) -> tuple[bool, bool, int, int, int]:
        return (self.explicit, self.title, self.count, -self.first, -self.index)


class Gazetteer:
    def __init__(self, places: list[Place], names: dict[str, _Name]) -> None:
        if not places or places[0].depth != 0 or any(p.depth == 0 for p in places[1:]):
            raise ConfigError("gazetteer must have exactly one county at the top")
        self.places = places
        self._names = names
        # One alternation over a trie of all names: at each position the longest name wins, and
        # the regex engine skips positions whose character starts no name.
        self._pattern = re.compile(_trie_regex(sorted(names)))
        # what may stand right before a town without making it another county's: our county's names
        self._own = _NEUTRAL_BEFORE + tuple(n for n in sorted(names) if names[n].places == (0,))

    @property
    def county(self) -> Place:
        return self.places[0]

    @property
    def names(self) -> list[str]:
        """Every name, alias and old name matched, sorted."""
        return sorted(self._names)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Gazetteer:
        file = Path(path) if path else DEFAULT
        try:
            # libyaml's loader: the shipped gazetteer (~2,000 names) loads 10x faster
            data = yaml.load(file.read_text(encoding="utf-8"), Loader=_LOADER)  # a safe loader (CSafeLoader or SafeLoader)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot load gazetteer: {exc}", file=str(file)) from exc
        places: list[Place] = []
        names: dict[str, list[tuple[int, bool]]] = {}

        def add_name(name: str, idx: int, evidence: bool, key: str) -> None:
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"gazetteer names must be non-empty strings, got {name!r}", file=str(file), key=key)
            entries = names.setdefault(name.strip(), [])
            if all(i != idx for i, _ in entries):
                entries.append((idx, evidence))

        def add(name: Any, spec: Any, prefix: str, depth: int, parent: int | None) -> None:
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"gazetteer place names must be non-empty strings, got {name!r}", file=str(file), key=prefix)
            name = name.strip()
            path = f"{prefix}/{name}" if prefix else name
            if spec is None:
                spec = {}
            elif isinstance(spec, list):  # the short form: name: [children]
                spec = {"places": spec}
            elif isinstance(spec, dict) and spec and not any(str(k).isascii() for k in spec):  # short form: name: {child: ...}
                spec = {"places": [{k: v} for k, v in spec.items()]}
            if not isinstance(spec, dict):
                raise ConfigError(f"gazetteer entries must be mappings or lists, got {spec!r}", file=str(file), key=path)
            unknown = sorted(set(spec) - _KEYS)
            if unknown:
                raise ConfigError(f"unknown gazetteer keys {unknown}; allowed: {sorted(_KEYS)}", file=str(file), key=path)
            idx = len(places)
            distinctive = bool(spec.get("distinctive", False))
            places.append(Place(name, path, depth, idx, distinctive, parent, bool(spec.get("namesake_elsewhere", False))))
            forms = [name]
            for suffix, extra in _VILLAGE_FORMS.items():
                if depth >= 2 and name.endswith(suffix) and len(name) > len(suffix):
                    forms += [name[: -len(suffix)] + e for e in extra]
            aliases = _str_list(spec.get("aliases"), file, f"{path}.aliases")
            for alias in forms + aliases:
                add_name(alias, idx, distinctive, path)
            for named in _str_list(spec.get("county_aliases"), file, f"{path}.county_aliases"):
                add_name(named, idx, True, path)  # names that carry the county's name: 彭泽县城
            for old in _str_list(spec.get("other_names"), file, f"{path}.other_names"):
                add_name(old, idx, False, path)
            children = spec.get("places") or []
            if isinstance(children, dict):
                children = [{k: v} for k, v in children.items()]
            if not isinstance(children, list):
                raise ConfigError(f"gazetteer places must be a list or mapping, got {children!r}", file=str(file), key=path)
            for child in children:
                if isinstance(child, str):
                    add(child, None, path, depth + 1, idx)
                elif isinstance(child, dict) and len(child) == 1:
                    ((cname, cspec),) = child.items()
                    add(cname, cspec, path, depth + 1, idx)
                else:
                    raise ConfigError(f"gazetteer place must be a name or a one-key mapping, got {child!r}", file=str(file), key=path)

        if not isinstance(data, dict) or not data:
            raise ConfigError("gazetteer is empty or not a mapping of county -> places", file=str(file))
        if len(data) != 1:
            raise ConfigError(f"gazetteer must have exactly one county at the top, got {list(data)}", file=str(file))
        ((county, spec),) = data.items()
        add(county, spec, "", 0, None)
        built = {n: _Name(tuple(i for i, _ in e), any(ev for _, ev in e)) for n, e in names.items()}
        return cls(places, built)

    def locate(
        self,
        title: str,
        content: str = "",
        *,
        title_tokens: list[str] | None = None,
        body_tokens: list[str] | None = None,
        county_source: bool = False,
    ) -> str | None:
        """The post's place as a gazetteer path, or None. ``*_tokens`` are the post's tokens from
        ``yuqing.text.tokenize`` (computed here when not given, and only if a short name matched);
        ``county_source`` says the post came from a source of the county itself."""
        mentions = self._mentions(title, title_tokens, 0, True) + self._mentions(content, body_tokens, len(title) + 1, False)
        if not mentions:
            return self.county.path if county_source else None
        self._mark_explicit(mentions)
        if not (county_source or any(m.evidence for m in mentions)):
            return None
        towns: dict[int, _Rank] = {}
        for m in mentions:
            owners = {self._town_of(i) for i in m.places}
            if len(owners) == 1 and (t := owners.pop()) is not None:
                # "explicit" for a town means right after the county, not a village right after it
                _count(towns, t, m, explicit=m.explicit and all(self.places[i].depth == 1 for i in m.places))
        if not towns:
            return self.county.path
        town = max(towns.values(), key=_Rank.key).index
        villages: dict[int, _Rank] = {}
        for m in mentions:
            for i in m.places:
                p = self.places[i]
                if p.depth >= 2 and self._town_of(i) == town:
                    _count(villages, i, m)
        if villages:
            return self.places[max(villages.values(), key=_Rank.key).index].path
        return self.places[town].path

    # -- internals -----------------------------------------------------------------------------

    def _town_of(self, idx: int) -> int | None:
        p = self.places[idx]
        while p.depth > 1 and p.parent is not None:
            p = self.places[p.parent]
        return p.index if p.depth == 1 else None

    def _mentions(self, text: str, tokens: list[str] | None, offset: int, in_title: bool) -> list[_Mention]:
        if not text:
            return []
        low = text.lower()
        found: list[_Mention] = []
        bounds: dict[int, str] | None = None  # token start -> token, and token end -> ""
        search = self._pattern.search
        pos = 0
        while m := search(low, pos):
            name = m.group()
            start, end = m.start(), m.end()
            if len(name) <= _SHORT:
                if bounds is None:
                    bounds = _token_bounds(low, tokens)
                nxt = bounds.get(end, "")
                if start not in bounds or end not in bounds or (len(nxt) == 1 and "\u4e00" <= nxt <= "\u9fff" and nxt not in _AFTER_PLACE):
                    pos = start + 1  # not a whole token (一马当先), or a person (彭泽泉): look again one further
                    continue
            pos = end  # names inside an accepted name are parts of it
            if _after_other_county(low, start, self._own):
                continue  # the whole name belongs to the other county
            entry = self._names[name]
            found.append(_Mention(name, entry.places, offset + start, offset + end, in_title, evidence=entry.evidence))
        return found

    def _mark_explicit(self, mentions: list[_Mention]) -> None:
        """A town right after its county, or a village right after its town (at most one character
        between). A village right after its own town is also evidence of the county: no other
        same-named town in China has a village of that name, unless marked ``namesake_elsewhere``."""
        for prev, m in itertools.pairwise(mentions):
            if m.start - prev.end > 1 or prev.in_title != m.in_title:
                continue
            chained = [i for i in m.places if self.places[i].parent in prev.places]
            if chained:
                m.explicit = True
                if len(chained) == 1 and self.places[chained[0]].depth >= 2 and not self.places[chained[0]].namesake_elsewhere:
                    m.evidence = True


def _count(ranks: dict[int, _Rank], idx: int, m: _Mention, explicit: bool | None = None) -> None:
    r = ranks.setdefault(idx, _Rank(index=idx))
    r.explicit |= m.explicit if explicit is None else explicit
    r.title |= m.in_title
    r.count += 1
    r.first = min(r.first, m.start)


def _after_other_county(text: str, start: int, own: tuple[str, ...]) -> bool:
    """``长沙县黄花镇``, ``A7县芙蓉村``: the name right after a county or city other than ours."""
    if start == 0 or text[start - 1] not in _FOREIGN_END:
        return False
    if text[max(0, start - 8) : start].endswith(own):
        return False
    # ``县城``-like words end in the character too, but those come after the name, not before it;
    # a lone 县/市/区 after punctuation or at the start is not a name either.
    return start >= 2 and (text[start - 2].isalnum())


def _token_bounds(text: str, tokens: list[str] | None) -> dict[int, str]:
    """Offsets of token boundaries in ``text`` (already lower-cased): a token's start maps to the
    token, an end that starts no token to ""."""
    if tokens is None:
        from yuqing.text import tokenize

        tokens = tokenize(text)
    bounds: dict[int, str] = {}
    pos = 0
    for tok in tokens:
        at = text.find(tok, pos)
        if at < 0:  # not the tokenisation of this text: give up on boundaries rather than guess
            break
        bounds[at] = tok
        pos = at + len(tok)
        bounds.setdefault(pos, "")
    return bounds


def _str_list(value: Any, file: Path, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"expected a list of names, got {value!r}", file=str(file), key=key)
    return [v.strip() for v in value]


def _trie_regex(words: list[str]) -> str:
    """One regular expression matching any of ``words``, longest first at each position."""
    trie: dict[str, Any] = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)
