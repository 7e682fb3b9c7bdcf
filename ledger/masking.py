"""Masking of personal data before anything is shown on the public page or in the feeds.

``mask`` is the one function every publicly shown text goes through (``ledger.feeds.public_items``
applies it to every text field of a ``PublicItem``). It covers what 政府信息公开 reviews strike out:

- 居民身份证 numbers, 18-digit and the old 15-digit form: the 6-digit area code is kept;
- bank card numbers (16–19 digits, also written in groups): first and last 4 digits kept;
- mobile numbers (also +86 and with separators): ``139****5678``; landlines: ``0792-****34``;
- e-mail addresses: first character and domain kept;
- licence plates (``赣G·12345``, ``赣GD12345``): province and city letter kept;
- house numbers: the numbers of 栋/幢/号楼/单元/室/层/户, of a street's 号 (``滨江路88号``) and of a
  village group (``3组``): ``滨江路**号``, ``**栋**单元**室``;
- personal names: the names recorded with the case (``names``: the 诉求人), a name after a role word
  (诉求人, 来电人, 业主, 村民, 邻居, 丈夫 …), and any other name a Chinese word segmenter (jieba) tags
  as a person's and that starts with a common surname — third parties included: ``王小明`` → ``王**``.

Not masked: "张先生"/"李女士"/"王师傅" (offices publish these forms), unit and place names,
case numbers, dates and amounts, and the disclosure link (an http(s) address of the publishing site).
Names are found by rules and a segmenter, so an unusual name in running text can be missed; the
office reviews each fulfilment before it discloses it (only the office discloses).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_ID18 = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<![0-9A-Za-z])([1-9]\d{5})\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z])\d(?:[ -]?\d){15,18}(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{7,8})(?!\d)")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(rf"([{_PROVINCES}][A-HJ-NP-Z])[·•.\- ]?([A-HJ-NP-Z0-9]{{4,5}}[A-HJ-NP-Z0-9挂学警港澳])(?![A-Za-z0-9])")
_NUM = r"(?:\d+|[一二三四五六七八九十百零〇两]+)"
_HOUSE = re.compile(rf"{_NUM}(?=(?:号楼|栋|幢|单元|室|层|户))")
_STREET_NO = re.compile(rf"(?<=[路街巷道弄里])({_NUM})(?=号)")
_GROUP_NO = re.compile(rf"(?<=[村屯])({_NUM})(?=组)")

# 百家姓: the ~120 most common single surnames and the compound ones (they cover most of the population).
_COMPOUND = [
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "宇文",
    "司徒",
    "令狐",
    "夏侯",
    "端木",
    "南宫",
    "西门",
    "独孤",
]
_SINGLE = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白"
    "邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮"
    "柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_SURNAME = "(?:" + "|".join(_COMPOUND) + "|[" + "".join(sorted(_SINGLE)) + "])"
# Words after which a person's name follows ("村民周红梅", "其丈夫欧阳振华", "联系人：李四").
_ROLES = (
    "诉求人|来电人|反映人|投诉人|举报人|联系人|留言人|申请人|当事人|姓名|业主|村民|居民|市民|网民|户主|店主|老板|负责人|法定代表人|法人|"
    "员工|职工|工人|患者|丈夫|妻子|邻居|司机|驾驶员|承包人|包工头"
)
# After a surname, characters that make it a word, not a name ("村民和孩子", "居民都反映").
_FUNCTION = "和与及等在的们都也是说称把被向对给跟从就还又已"
_PREPOSITIONS = set("向和于把被对给跟从齐都也就还")
_LABELLED = re.compile(rf"((?:{_ROLES})[：:\s]*)({_SURNAME})(?!先生|女士|小姐|师傅|老师|同志|某)([^\W\d_{_FUNCTION}][\u4e00-\u9fa5]?)")
# Forms published as they are: a surname with a courtesy title, and officials by their office
# (胡书记, 李局长: public figures, addressed by title).
_TITLED = re.compile(
    r"(先生|女士|小姐|师傅|老师|同志|阿姨|大爷|某某|某|书记|县长|镇长|乡长|村长|市长|局长|主任|校长|院长|所长|队长|科长|站长|部长|医生|大夫)$"
)
# A "name" followed by one of these is a place or an organisation: 雷峰大道, 梅岭公园, 金鹰小学.
_PLACE_AFTER = re.compile(
    r"^(?:大道|路|街|巷|镇|乡|村|组|小区|公园|山|桥|社区|居委会|花园|广场|中学|小学|学校|医院|公司|县|市|区|塔|湖|河|港|大厦|酒店|宾馆|超市|商场|市场|工业园|水库)"
)
_NOT_PERSON = re.compile(r"[县乡镇村区市省府局委办院所站队厅部处科店厂司行社组路街湖河山港桥园场]$")
# Two-character words the segmenter may tag as names that are brands or places, not people.
_NOT_NAMES = frozenset({"华为", "高新", "金山", "万达", "苏宁", "国美", "龙城", "马当", "彭泽", "九江", "江西"})
# A "name" that is also a common word in jieba's dictionary (阳光, 陈述, 许可证, 严重性) is the word;
# the names of real people are rare there (王小明 3, 刘德华 37).
_COMMON_WORD = 150
_NOT_NAME_END = re.compile(r"[法性证率费能水化]$")


def _card(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return f"{digits[:4]} **** **** {digits[-4:]}"


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: keep the surname's first character."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if len(name) > 1 else name


@lru_cache(maxsize=1)
def _segmenter() -> object:
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


def _frequency(word: str) -> int | None:
    import jieba

    _segmenter()
    return jieba.dt.FREQ.get(word)  # type: ignore[no-any-return]


def _segmented_names(text: str) -> set[str]:
    """Person names (jieba's ``nr``) that start with a common surname and are not place or unit names."""
    pseg = _segmenter()
    out = set()
    words = [(w, f) for w, f in pseg.cut(text)]  # type: ignore[attr-defined]
    for i, (word, flag) in enumerate(words):
        if flag != "nr":
            continue
        # jieba sometimes splits a name into its surname and given name, both tagged nr: 周 / 红梅
        if len(word) == 1 and word in _SINGLE and i + 1 < len(words) and words[i + 1][1] in ("nr", "n", "nz") and len(words[i + 1][0]) <= 2:
            word = word + words[i + 1][0]
        if not 2 <= len(word) <= 4 or _TITLED.search(word) or _NOT_PERSON.search(word) or word in _NOT_NAMES:
            continue
        if (_frequency(word) or 0) >= _COMMON_WORD or (len(word) == 3 and _NOT_NAME_END.search(word)):
            continue
        if any(_PLACE_AFTER.match(text[m.end() :]) for m in re.finditer(re.escape(word), text)):
            continue
        if re.fullmatch(_SURNAME + r"[\u4e00-\u9fa5]{1,2}", word) or re.fullmatch(_SURNAME + r"[\u4e00-\u9fa5]{1,2}", word[:4]):
            out.add(word)
    return out


def mask(text: str | None, names: Iterable[str] = ()) -> str:
    """``text`` with the personal data listed in the module's docstring masked."""
    if not text:
        return ""
    return _mask(text, tuple(sorted({n.strip() for n in names if n and len(n.strip()) > 1})))


@lru_cache(maxsize=8192)
def _mask(text: str, names: tuple[str, ...]) -> str:
    # Cached: the public page and the feeds show the same disclosed texts to every visitor.
    out = _ID18.sub(lambda m: m.group(1) + "*" * 12, text)
    out = _ID15.sub(lambda m: m.group(1) + "*" * 9, out)
    out = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", out)
    out = _CARD.sub(_card, out)
    out = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)[-2:]}", out)
    out = _EMAIL.sub(lambda m: f"{m.group(1)}***{m.group(2)}", out)
    out = _PLATE.sub(lambda m: m.group(1) + "·" + "*" * (len(m.group(2)) - 1) + m.group(2)[-1], out)
    out = _HOUSE.sub("**", out)
    out = _STREET_NO.sub("**", out)
    out = _GROUP_NO.sub("**", out)
    known = set(names)
    segmented = _segmented_names(out)
    for m in _LABELLED.finditer(out):
        candidate = m.group(2) + m.group(3)
        words = (candidate, candidate[:2]) if len(m.group(2)) == 1 else (candidate,)
        # "业主向市里反映", "市民周末休息": a preposition or a common word, not a name; after a colon
        # ("来电人：张三丰") it is a name whatever it is.
        labelled = "：" in m.group(1) or ":" in m.group(1)
        if not labelled and (candidate[0] in _PREPOSITIONS or any((_frequency(w) or 0) >= _COMMON_WORD for w in words)):
            continue
        # The segmenter knows better where a name ends (包工头黄俊来处理: 黄俊, not 黄俊来).
        known.add(next((n for n in segmented if candidate.startswith(n)), candidate))
    known |= segmented
    for name in sorted(known, key=len, reverse=True):
        out = out.replace(name, mask_name(name))
    return out
