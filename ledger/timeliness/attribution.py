"""Which unit a reply came from: the reply's own metadata first (the board's or the 12345 export's
replying body), then the reply's signature (its last lines), then its opening lines
("已转交县人社局办理"). A name counts only when it is in the configured alias list, and only when
exactly one unit is named where we look: anything else stays unattributed, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger.timeliness.config import UnitAliases

SIGNATURE_CHARS = 60  # the end of a reply, after its date, where the replying body signs
OPENING_CHARS = 80
_DATE_TAIL = re.compile(
    r"[\s　。．.,，、]*(?:\d{4}\s*[年/.-]\s*\d{1,2}\s*[月/.-]\s*\d{1,2}\s*日?|[〇零一二三四五六七八九十]{4}年[〇零一二三四五六七八九十]{1,3}月[〇零一二三四五六七八九十]{1,3}日)[\s　。．.]*$"
)
# A name right after a place code ("L4县人社局": anonymised data) or after another county, city or
# district ("A7县黄花镇人民政府", "长沙县黄花镇") belongs to that place, not to ours.
_FOREIGN_BEFORE = re.compile(r"[A-Za-z0-9]$")
_PLACE_BEFORE = re.compile(r"[县市区]$")
HOME_PLACES = ("彭泽县", "九江市彭泽县", "彭泽")


@dataclass(frozen=True)
class Attribution:
    unit: str | None
    how: str  # where the unit was read (落款, 回复单位, ...) or why none was (shown to staff)
    evidence: str = ""  # the text that named it


class UnitMatcher:
    """Find configured units' names in a reply. Longer names win over names they contain."""

    def __init__(self, units: list[UnitAliases], home: tuple[str, ...] = HOME_PLACES) -> None:
        self.home = home
        self.owner: dict[str, str] = {}
        for u in units:
            for name in u.names:
                self.owner[name] = u.unit
        names = sorted(self.owner, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(n) for n in names)) if names else None

    def units_in(self, text: str) -> list[tuple[str, str]]:
        """(unit, name as written) for every configured name in ``text``, longest match first."""
        if not text or self._pattern is None:
            return []
        out = []
        for m in self._pattern.finditer(text):
            before = text[: m.start()]
            if _FOREIGN_BEFORE.search(before):
                continue
            if not m.group(0).startswith(("县", "市")) and _PLACE_BEFORE.search(before) and not before.endswith(self.home):
                continue
            out.append((self.owner[m.group(0)], m.group(0)))
        return out

    def _one(self, text: str, how: str) -> Attribution | None:
        found = self.units_in(text)
        units = list(dict.fromkeys(u for u, _ in found))
        if len(units) == 1:
            return Attribution(units[0], how, found[0][1])
        if len(units) > 1:
            return Attribution(None, f"{how}中有多个单位（{'、'.join(units)}），未归属", text.strip()[-SIGNATURE_CHARS:])
        return None

    def attribute(self, content: str, organization: str | None = None) -> Attribution:
        if organization and organization.strip():
            org = organization.strip()
            hit = self._one(org, "回复单位")
            if hit is not None:
                return hit
            return Attribution(None, f"回复单位「{org[:40]}」不在单位别名表中", org[:40])
        text = (content or "").strip()
        if not text:
            return Attribution(None, "回复内容为空")
        body = _DATE_TAIL.sub("", text)
        for zone, how in ((body[-SIGNATURE_CHARS:], "落款"), (body[:OPENING_CHARS], "回复开头")):
            hit = self._one(zone, how)
            if hit is not None:
                return hit
        return Attribution(None, "回复中未找到已配置的单位名称", body[-30:])
