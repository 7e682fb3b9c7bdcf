"""Masking of personal data before anything is shown on the public page or in the feeds.

Covers what 政府信息公开 reviews strike out: mobile and landline numbers, 居民身份证 numbers,
personal names (the people a case names are recorded with it and passed as ``names``; a name
after 诉求人/来电人/联系人/姓名 is caught too; "张先生" is left as is, as offices publish it), e-mail addresses and house numbers in addresses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_ID = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{7,8})(?!\d)")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_LABELLED = re.compile(r"((?:诉求人|来电人|反映人|投诉人|举报人|联系人|留言人|姓名)[：: ]\s*)([\u4e00-\u9fa5])([\u4e00-\u9fa5]{1,3})")
_HOUSE = re.compile(r"(\d+)(栋|幢|号楼)(\d+)(单元)?(\d+)(室|号)")


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: keep the surname's first character."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if len(name) > 1 else name


def mask(text: str | None, names: Iterable[str] = ()) -> str:
    if not text:
        return ""
    out = _ID.sub(lambda m: m.group(1) + "*" * 8 + "****", text)
    out = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", out)
    out = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)[-2:]}", out)
    out = _EMAIL.sub(lambda m: f"{m.group(1)}***{m.group(2)}", out)
    for name in sorted({n.strip() for n in names if n and len(n.strip()) > 1}, key=len, reverse=True):
        out = out.replace(name, mask_name(name))
    out = _LABELLED.sub(lambda m: m.group(1) + m.group(2) + "*" * len(m.group(3)), out)
    out = _HOUSE.sub(lambda m: "**" + m.group(2) + "**" + (m.group(4) or "") + "**" + m.group(6), out)
    return out
