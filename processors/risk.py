"""Risk score 0-100 and level 低/中/高/重大 of the incident a post describes, every point explained.

The score reads the post, not its topic. Points come from:

- the complaint itself: negative sentiment and its strength (a question or a wish scores nothing);
- harm: deaths, injuries, illness, violence;
- hazard: fires, explosions, collapses, cracking buildings, overloading, severe pollution;
- collective action: 拉横幅, 堵路, gatherings, 集体上访 (strong) and 维权, 上访, 抗议, 联名 (weaker);
- escalation: threats and intimidation, police deployed against residents, extreme acts,
  media coverage, going to the province or the centre;
- scale: the largest number of people (人/户/名 …) and of money lost or owed (万/亿元);
- group wage arrears and mass-victim finance (非法集资, P2P, 传销, 跑路); 100+ households without
  the flats they were promised (安置, 回迁);
- vulnerability: children, the elderly, patients — only beside harm, hazard or threats;
- the event: posts in the last 2 hours, posts so far, distinct sources.

Words of harm, hazard, collective action and escalation count only where the text says they
happened: a hypothetical or fear (万一, 如果, 一旦, 担心, 以免, 是否 …) makes the rest of its
sentence irrealis, a wish (希望, 呼吁, 请 …) the rest of its clause, a question the whole
sentence, and a negation (没有, 未, 无 …) the word right after it. "集体" and "群体" are not
collective action by themselves. Every reason quotes the words it came from, and the reasons add
up to the score exactly (before the cap at 100 and the ceiling below 重大, both said when applied).

重大 is reserved for what a county treats as major: a death, collective action going on, an extreme
act, major pollution (crops lost, animals dead), mass wage arrears, or mass-victim finance.
Without one of these the score stops at 74 (高).

The weights were fitted on part of the hand-read set ``data/labels/risk.jsonl`` and checked on
the rest (``python -m processors.risk_eval``; guide in ``docs/labelling.md``); the few the set
cannot support (death, extreme acts, major pollution, mass wage arrears) were set by hand so that
each alone reaches 重大. The level thresholds are unchanged (25/50/75).
All patterns are compiled once at import; scoring a post is a few regex scans of its text
(about 100 µs of CPU on a 700-character post).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache

from yuqing.events import Risk

LEVELS = ((75, "重大"), (50, "高"), (25, "中"), (0, "低"))
MAJOR_CEILING = 74  # highest score without a major factor

# Points per factor (fitted; see module docstring).
W = {
    "neg_base": 20,  # negative sentiment at strength 0.5 ...
    "neg_slope": 8,  # ... plus this much at strength 1.0
    "death": 55,  # raised by hand so that a death alone reaches 重大
    "injury": 22,
    "serious_injury": 30,
    "illness": 24,
    "violence": 18,
    "threat": 18,
    "accident": 18,  # a fire, explosion, collapse, leak that happened
    "hazard": 2,  # a concrete hazard named (隐患, 开裂, 超载 …)
    "pollution": 14,  # severe pollution (toxic, drinking water, crops, dead fish)
    "collective_strong": 64,
    "collective_past": 30,
    "collective": 12,
    "threat_to_act": 6,  # collective action announced (将上访, 保留上访的权利, 维权到底)
    "police": 12,
    "extreme": 55,  # not fitted (no real extreme act in the set): set so that it reaches 重大
    "media": 1,
    "nuisance": 6,  # an ongoing wrong named (扰民, 黑臭, 违建, 拖欠 …)
    "higher": 2,
    "vulnerable": 6,
    "homeless": 15,  # 100+ households without the homes they were promised (安置, 回迁)
    "wage_group": 7,
    "mass_wage": 40,  # not fitted (no mass arrears in the set): set so that they reach 重大
    "mass_finance": 30,
    "major_pollution": 40,  # set with death and extreme acts: major pollution reaches 重大
    "finance": 21,
    "scale_10": 3,
    "scale_100": 8,
    "scale_1000": 7,
    "money_1m": 6,
    "money_10m": 12,
    "money_100m": 9,
}

# ---------------------------------------------------------------- text structure
_SENTENCE_END = re.compile(r"[。！？!?；;\n…]+")
_CLAUSE_END = re.compile(r"[，,、：:。！？!?；;\n…（）()]+")
# A hypothetical or fear: the rest of the sentence did not happen.
_HYPOTHETICAL = re.compile(
    r"万一|如果|假如|假若|倘若|若是|要是|如若|一旦|假设|试想|设想|担心|担忧|忧虑|害怕|生怕|唯恐|恐怕|"
    r"可能|会不会|是否|能否|有没有|难道|否则|不然|迟早|早晚|差点|险些|差一点|预防|防范|以防|以免|避免|防止|"
    r"谨防|杜绝|不排除|演练|应急|非要等到|后果不堪设想|说成|所谓|定性为|污蔑|或者参加|或者组织|如(?=[0-9一二两三四五六七八九十几]|发生|遇|有|出现)|若(?=发生|有|出现)|"
    r"第[0-9一二三四五六七八九十百零]+条|规定|条例|办法》|法》"  # a rule quoted, not an event
)
# A wish, request, call or intention: the rest of the clause did not happen (yet).
_WISH = re.compile(
    r"希望|期望|期待|盼望|渴望|请求|恳请|恳求|呼吁|建议|要求|敦促|督促|应当|应该|请|望|盼|扬言|声称要|威胁要|准备|打算|只想|想要"
)
_NOT_WISH_BEFORE = {"请": set("申邀聘宴提"), "望": set("失绝渴盼希眺张观瞭声")}  # 申请, 失望 are not wishes
# Announcing an action: collective words after these are a threat to act, not an act.
_ANNOUNCE = re.compile(r"将|准备|打算|保留|只能|不得不|必将|将会|还会|继续|到底|誓要|决心")
_NEGATION = re.compile(
    r"(?:没有|没|未|无|并未|并没有|不曾|从未|不是|并非|不会|不至于|不要|不能|别|不再|免于|不致|"
    r"无人|没人|没有人|未造成|没有造成|未发生|没有发生|未出现|没有出现)$|"
    r"(?:未|没有|没|并未|从未|不曾)(?:采取|使用|发生|出现|造成|有过)[^，。！？]{0,8}$|"
    r"(?:不会|不想|不愿|不再|绝不|决不|从不|不要|并未|从未)[^，。！？]{0,5}$"
)
# After the sentence's word: the danger is foreseen, not reported (…是迟早的事, …谁负责).
_TRAILING = re.compile(r"迟早|早晚|后果不堪设想|谁(?:来)?负责|谁来承担|怎么办|在所难免|难以避免|不堪设想")
# Words that are not the danger after these (信息大爆炸, 扬言要打死).
_NOT_AFTER = {
    "爆炸": ("信息大", "信息", "知识"),
    "打死": ("要", "扬言", "说"),
    "事故": ("责任",),
    "重伤": ("严",),  # 严重伤害
    "游行": ("旅",),  # 旅游行业
}
# The word names a risk, not an event: 火灾隐患, 爆炸危险.
_AS_RISK = re.compile(r"(?:的)?(?:隐患|风险|危险|威胁|可能|之虞|事故隐患|依据|权利|权力)")
# Collective action said to have happened before (不断拉横幅, 集体上访了两次): 高, not 重大.
_PAST = re.compile(r"曾|曾经|之前|以前|此前|多次|屡次|数次|几次|两次|三次|不断|长期|多年|历年")
_ACTS = frozenset(["death", "extreme", "serious", "injury", "violence", "accident", "strong", "collective"])
# A death from illness is not a casualty of the incident (多器官衰竭而死亡, 病逝).
_NATURAL = re.compile(r"衰竭|病逝|病故|癌症|病情|抢救无效后病")
_ANIMAL = re.compile(r"(?:鱼|虾|鸡|鸭|鹅|猪|牛|羊|狗|猫|禽|畜|树|苗|蜂|蚕|庄稼|作物)[^，。！？,.!?]{0,3}$")

# ---------------------------------------------------------------- words
# Words of each factor (regular expressions; every alternative starts with a literal once a leading
# group such as (?:村民|业主) is expanded). At import they are compiled into a few scanning
# patterns (below): the alternatives with regex syntax, then all plain words as a trie, split by
# first character; on real posts of ~700 characters this reads the text 4.5x faster than one scan
# per factor. Each word found is then given to every factor whose pattern it matches in full.
WORDS: dict[str, str] = {
    "death": "死亡(?!人口|率|证明|威胁)|身亡|遇难|罹难|丧生|丧命|致死|死伤|溺亡|猝死|撞死|砸死|压死|淹死|烧死|毒死|打死|摔死|电死|"
    "抢救[^。]{0,30}去世|不幸去世|一死|两死|三死|(?:一|两|二|三|四|五|六|七|八|九|十|1|2|3|4|5|6|7|8|9)死[0-9一二两三四五六七八九十]+伤|人死亡",
    "extreme": "跳楼|自杀|自焚|轻生|喝农药|服毒|割腕|以死相逼|同归于尽|以命相搏|寻短见",
    "serious": "重伤|截瘫|全身瘫痪|下肢瘫痪|偏瘫|瘫痪在床|致残|残废|伤残|植物人|骨折|昏迷不醒|抢救|伤亡",
    "injury": "受伤(?!害)|轻伤|伤者|打伤|砍伤|烧伤|烫伤|摔伤|咬伤|头破血流|流血|伤情|送医|打成",
    "violence": "殴打|打人|被打|打伤|围殴|聚众殴打|往死里打|暴力|持刀|砍人|推搡|行凶|强拆|非法拘禁|困在|限制人身自由",
    "illness": "中毒|身体受损|健康受损|咳嗽|呼吸道疾病|(?:因此|导致|造成|引发|引起|致使|得了|患上)[^，。]{0,6}(?:疾病|住院|病|癌)",
    "accident": "爆炸|火灾|起火|着火|失火|大火|火情|坍塌|倒塌|垮塌|塌方|塌陷|泄漏|气泄露|下坠|坠落|翻车|车祸|交通事故|事故",
    "hazard": "安全隐患|重大隐患|隐患|危房|开裂|裂缝|下沉|超载|漏电|随时可能|岌岌可危|险象环生|危及生命|威胁(?:人身|生命)|生命安全|决堤|溃坝",
    "pollution": "有毒|毒气|剧毒|有害气体|氟化物|重金属|超标排放|偷排|直排|饮用水|饮水|水源|颗粒无收|死绝|鱼虾|农田[^，。]{0,4}污染|污水[^。]{0,12}农田|危险废物|危废",
    "strong": "拉横幅|挂横幅|横幅|白旗|(?:村民|业主|工人|群众|民工|居民|员工)[^，。]{0,6}堵(?:路|门|住)|堵门|围堵|封堵大门|聚集(?:在|到|于)|聚众(?!赌|殴|打)|大量(?:员工|工人|业主|村民|群众|农民工|居民)[^，。]{0,6}(?:维权|聚集|讨薪)|门口[^，。]{0,4}(?:进行)?(?:维权|抗议|讨薪|静坐)|静坐|工人罢工|员工罢工|司机罢工|职工罢工|教师罢工|集体罢工|游行|示威|集体上访|群体上访|群体性事件|群体事件|闹访|齐聚(?:在|到)?[^，。和]{0,8}(?:政府|门口|广场|大门|信访|公司|售楼部|工地)|对峙|流血冲突|肢体冲突|发生冲突|围攻|集体停工|停工讨薪",
    "collective": "抗议|维权|上访|信访|请愿|联名|阻工|集体(?:投诉|举报|反对|反映|讨薪|维权|签名|起诉)|群体(?:投诉|举报|维权)|全体(?:业主|村民|居民|员工|职工|工人|住户|房主|师生)|群情激奋|怨声载道",
    "police": "特警|防暴|传唤|拘留|镇压|抓走|带走|出动[^，。]{0,4}警|警察[^，。]{0,4}(?:包围|驱赶|围)",
    "threat": "威胁(?!人身|生命|安全|健康|到|着|居民|群众|周边)|恐吓|扬言|报复|黑社会|涉黑|黑恶势力|打手|弄死|要你命|砸[^，。]{0,3}(?:车|门|窗)",
    "media": "媒体|记者|报道|曝光|微博|抖音|头条|热搜|网络上|网上[^，。]{0,4}(?:转发|传)",
    "higher": "省政府|省委|省信访|省长|中央|国务院|北京|督导组|巡视组|纪委|监察委|国家信访",
    "finance": "非法集资|集资诈骗|非法吸收公众存款|集资款|传销|p2p|P2P|爆雷|暴雷|(?:老板|法人|开发商|实控人|负责人|公司|已经|卷款|疑似|已)跑路|卷款|人去楼空|恶性退出|出借人|投资人|兑付|庞氏|资金盘|拉人头|高额回报|月回报|回报率|高息",
    "nuisance": "扰民|噪音|噪声|黑臭|恶臭|臭气|异味|油烟|粉尘|扬尘|污水|排污|违建|违章建筑|私搭乱建|侵占|霸占|圈占|"
    "卖淫|赌博|涉黄|诈骗|欺诈|虚假宣传|乱收费|停水|停电|漏水|渗水|污染|强制|强迫|拖欠|克扣|骗取",
    "homeless": "安置房|就地安置|回迁|无家可归|有家不能回|无法入住|无房可住|漂泊|在外租房",
    "vulnerable": "儿童|小孩|孩子|幼儿|小学生|学生|婴儿|老人|老年人|孕妇|残疾|留守|病人|患者|老弱",
}
_META = set("\\.^$*+?{}[]()|")


def _alternatives(pattern: str) -> list[str]:
    """Top-level alternatives of ``pattern``, with a leading group of plain words expanded:
    "(?:村民|业主)[^，。]{0,6}堵" -> "村民[^，。]{0,6}堵", "业主[^，。]{0,6}堵"."""
    out: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(pattern):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
    out.append(pattern[start:])
    expanded: list[str] = []
    for alt in out:
        if alt.startswith("(?:"):
            close = alt.index(")")
            words = alt[3:close].split("|")
            if "(" in alt[3:close] or alt[close + 1 : close + 2] in ("?", "*", "+", "{"):
                raise ValueError(f"risk word pattern {alt!r}: a leading group must be plain words")
            expanded += [w + alt[close + 1 :] for w in words]
        else:
            expanded.append(alt)
    return expanded


def _trie(words: list[str]) -> list[str]:
    """Many plain words as a trie of regex branches, one per first character, longest first."""
    root: dict[str, dict] = {}  # type: ignore[type-arg]
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return [re.escape(ch) + emit(child) for ch, child in sorted(root.items())]


_PLAIN: dict[str, list[str]] = {}  # word -> factors
_COMPLEX: list[tuple[str, re.Pattern[str]]] = []  # (factor, alternative) with regex syntax
for _factor, _pattern in WORDS.items():
    for _alt in _alternatives(_pattern):
        if _META & set(_alt):
            if _alt[0] in _META:
                raise ValueError(f"risk word pattern {_alt!r} must start with a literal (the scan skips on it)")
            _COMPLEX.append((_factor, re.compile(_alt)))
        else:
            _PLAIN.setdefault(_alt, []).append(_factor)
# Top-level branches that all start with a literal, so that re skips ahead on the first character.
# re tries the branches one by one wherever a first character matches, so they are split in a few
# scans by first character (each skips ahead on its own, smaller set): 2x faster than one scan.
# The matches of all parts are read in text order; parts may overlap, as separate factors did.
_SCAN_PARTS = 4
_SCANS = [
    re.compile(
        "|".join(
            [p.pattern for _, p in _COMPLEX if ord(p.pattern[0]) % _SCAN_PARTS == k]
            + [b for b in _trie(list(_PLAIN)) if ord(b[0]) % _SCAN_PARTS == k]
        )
    )
    for k in range(_SCAN_PARTS)
]


_COMPLEX_BY_FIRST: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _factor, _compiled in _COMPLEX:
    _COMPLEX_BY_FIRST.setdefault(_compiled.pattern[0], []).append((_factor, _compiled))


@lru_cache(maxsize=8192)
def _factors_of(word: str) -> tuple[str, ...]:
    """The factors whose pattern ``word`` (a match of the scan) matches in full."""
    factors = list(_PLAIN.get(word, ()))
    for factor, pattern in _COMPLEX_BY_FIRST.get(word[0], ()):
        if factor not in factors and pattern.fullmatch(word):
            factors.append(factor)
    return tuple(factors)


# The irrealis markers, read in one scan too: word -> kinds ("hypo", "wish", "announce").
_MARK_PLAIN: dict[str, list[str]] = {}
_MARK_COMPLEX: list[tuple[str, re.Pattern[str]]] = []
for _kind, _marker in (("hypo", _HYPOTHETICAL), ("wish", _WISH), ("announce", _ANNOUNCE)):
    for _alt in _alternatives(_marker.pattern):
        if _META & set(_alt):
            _MARK_COMPLEX.append((_kind, re.compile(_alt)))
        else:
            _MARK_PLAIN.setdefault(_alt, []).append(_kind)
_MARKS = re.compile("|".join([p.pattern for _, p in _MARK_COMPLEX] + _trie(list(_MARK_PLAIN))))
_SENTENCE_MARKS = "。！？!?；;\n…"
# A run of clause-ending punctuation (_CLAUSE_END) from its first sentence mark on: it ends where
# the run ends, and the run ends a sentence.
_SENTENCE_RUN = re.compile(f"[{_SENTENCE_MARKS}][，,、：:（）(){_SENTENCE_MARKS}]*")

_PAY = re.compile(r"工资|工钱|薪水|薪资|薪酬|劳务费|血汗钱|人工费|欠薪|讨薪")
_UNPAID = re.compile(r"拖欠|欠薪|讨薪|未发|没发|不发|未付|未支付|没有发|没拿到|拿不到|不给|讨要|结算不了|克扣|未结|欠")
_WORKERS = re.compile(r"农民工|工人|民工|工友|员工|职工|全体|师傅们|班组|大家")
_LOSS_CONTEXT = re.compile(r"拖欠|欠|骗|集资|损失|卷款|跑路|兑付|待收|涉案|涉及|工程款|工资|血汗钱|退还|赔偿|冻结|投资|交了|缴纳|收取")

# Numbers: digits or Chinese numerals, with the vague ones (几, 数, 上, 近) as lower bounds.
_NUM = r"(?:[0-9]+(?:\.[0-9]+)?|[零〇一二两三四五六七八九十百千万几数上近]+)"
_NUMBER = re.compile(
    r"(?:[0-9][0-9.]*|[零〇一二两三四五六七八九十百千万几数上近]+)"
    r"(?=[多余来万名个位户家人农工村居业员职学师出投受会群住房老亿元块千百])"  # only numbers that may count or cost
)
# What follows a number when it counts people, or money (the number itself is found by _NUMBER).
_PEOPLE_TAIL = re.compile(
    r"(?:多|余|来)?(万)?(?:多|余)?(?:名|个|位|户|家)?"
    r"(?:人(?!民|均|员|大|次|口|家|工|才|事)|户|名(?!额|字|单|义|称|片)|农民工|工人|村民|居民|业主|员工|职工|学生|师生|出借人|投资人|受害人|受害者|会员|群众|住户|房主|老人)"
)
_MONEY_TAIL = re.compile(
    r"(?:多|余)?(千万|百万|万|亿)(?:多|余)?(?:元|人民币|块)?(?!多|余|人|户|名|平|亩|米|公里|辆|套|次|字|吨|个|家|位)|(?:多|余)?(?:元|人民币|块钱)"
)
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_VAGUE = {"几": 2, "数": 2, "上": 1, "近": 1}


def parse_number(s: str) -> float | None:
    """Arabic or Chinese numerals to a number: '185', '3.08', '二十', '一百八十五', '两千', '上千',
    '几千', '数百', '十几' (vague words as their lower bound); None if it is not a number."""
    if not s:
        return None
    if s[0].isdigit():
        try:
            return float(s)
        except ValueError:
            return None
    total = 0.0
    section = 0.0
    digit: float | None = None
    for ch in s:
        if ch in _DIGITS:
            digit = float(_DIGITS[ch])
        elif ch in _VAGUE:
            digit = float(_VAGUE[ch])
        elif ch in _UNITS:
            section += (digit if digit is not None else 1.0) * _UNITS[ch]
            digit = None
        elif ch == "万":
            total += (section + (digit or 0.0)) * 10_000
            section, digit = 0.0, None
        else:
            return None
    value = total + section + (digit or 0.0)
    return value or None


_MONEY_UNIT = {"千万": 1e7, "百万": 1e6, "万": 1e4, "亿": 1e8}


@dataclass(frozen=True)
class EventContext:
    size: int = 1  # posts in the event so far
    recent: int = 1  # posts in the last 2 hours
    sources: int = 1  # distinct sources


def level_of(score: int) -> str:
    return next(name for threshold, name in LEVELS if score >= threshold)


class _Text:
    """One post's text, with where its sentences and clauses start (computed on first use: most
    posts never ask) and the irrealis markers of the sentences asked about."""

    __slots__ = ("_marks", "_ready", "clause_starts", "question_ends", "sent_starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._ready = False
        self._marks: dict[int, tuple[list[int], list[int], list[int]]] = {}

    def _prepare(self) -> None:
        # clause starts: after every run of clause-ending punctuation; sentence starts: after the
        # runs that hold a sentence mark (one regex pass each, instead of a Python step per run)
        text = self.text
        self.clause_starts = [0, *[m.end() for m in _CLAUSE_END.finditer(text)]]
        self.sent_starts = [0]
        self.question_ends: set[int] = set()
        for m in _SENTENCE_RUN.finditer(text):
            self.sent_starts.append(m.end())
            punct = m.group()
            if "？" in punct or "?" in punct:
                self.question_ends.add(len(self.sent_starts) - 1)
        self._ready = True

    def _sentence_marks(self, s: int) -> tuple[list[int], list[int], list[int]]:
        """Positions of the hypothetical, wish and announcing markers in sentence ``s``."""
        marks = self._marks.get(s)
        if marks is not None:
            return marks
        text = self.text
        lo = self.sent_starts[s]
        hi = self.sent_starts[s + 1] if s + 1 < len(self.sent_starts) else len(text)
        hypo: list[int] = []
        wish: list[int] = []
        announce: list[int] = []
        for m in _MARKS.finditer(text, lo, hi):
            word, start = m.group(), m.start()
            kinds = _MARK_PLAIN.get(word)
            if kinds is None:
                kinds = [k for k, p in _MARK_COMPLEX if (c := p.match(text, start)) is not None and c.end() == m.end()]
            for kind in kinds:
                if kind == "hypo":
                    hypo.append(start)
                elif kind == "announce":
                    announce.append(start)
                elif not (start and text[start - 1] in _NOT_WISH_BEFORE.get(word, ())):
                    wish.append(start)
        marks = self._marks[s] = (hypo, wish, announce)
        return marks

    @staticmethod
    def _any_between(marks: list[int], lo: int, hi: int) -> bool:
        i = bisect.bisect_left(marks, lo)
        return i < len(marks) and marks[i] < hi

    def _clause_start(self, pos: int) -> int:
        return self.clause_starts[bisect.bisect_right(self.clause_starts, pos) - 1]

    def mood(self, start: int, end: int) -> str:
        """'real', 'negated', 'risk' (火灾隐患), 'hypothetical', 'wish' or 'question'."""
        text = self.text
        if _NEGATION.search(text, max(0, start - 14), start):
            return "negated"
        if _AS_RISK.match(text, end):
            return "risk"
        if not self._ready:
            self._prepare()
        s = bisect.bisect_right(self.sent_starts, start) - 1
        hypo, wish, _ = self._sentence_marks(s)
        if self._any_between(hypo, self.sent_starts[s], start):
            return "hypothetical"
        sent_end = self.sent_starts[s + 1] if s + 1 < len(self.sent_starts) else len(text)
        if _TRAILING.search(text, end, sent_end):
            return "hypothetical"
        if self._any_between(wish, self._clause_start(start), start):
            return "wish"
        if s + 1 in self.question_ends:
            return "question"
        return "real"

    def announced(self, start: int) -> bool:
        if not self._ready:
            self._prepare()
        s = bisect.bisect_right(self.sent_starts, start) - 1
        return self._any_between(self._sentence_marks(s)[2], self._clause_start(start), start)


def _quote(words: list[str], n: int = 2) -> str:
    return "".join(f"「{w}」" for w in words[:n])


def numbers(text: str) -> tuple[tuple[float, str], tuple[float, str]]:
    """The largest count of people and the largest sum of money lost, owed or paid (yuan) in
    ``text``, each with the words it was read from (0 and "" when there is none)."""
    people, people_quote = 0.0, ""
    money, money_quote = 0.0, ""
    for m in _NUMBER.finditer(text):
        if m.start() and text[m.start() - 1] == "第":  # an ordinal (第20名), not a count
            continue
        end = m.end()
        tail = _PEOPLE_TAIL.match(text, end)
        if tail is not None:
            n = parse_number(m.group())
            if n is not None:
                if tail.group(1):
                    n *= 10_000
                if n > people:
                    people, people_quote = n, text[m.start() : tail.end()]
            continue
        tail = _MONEY_TAIL.match(text, end)
        if tail is None:
            continue
        n = parse_number(m.group())
        if n is None:
            continue
        if tail.group(1):
            n *= _MONEY_UNIT[tail.group(1)]
        if n <= money:
            continue
        lo = max(0, m.start() - 40)
        stop = _SENTENCE_END.search(text, tail.end())
        hi = stop.start() if stop else len(text)
        start = max((e.end() for e in _SENTENCE_END.finditer(text, lo, m.start())), default=lo)
        if _LOSS_CONTEXT.search(text, start, hi):
            money, money_quote = n, text[m.start() : tail.end()]
    return (people, people_quote), (money, money_quote)


def assess(
    topic: str,
    sentiment: str,
    negativity: float,
    tokens: list[str],
    event: EventContext = EventContext(),
    text: str | None = None,
) -> Risk:
    """Score one post. ``text`` is the post's title and body (title first, on its own line);
    without it the tokens are joined, which loses punctuation and so the scope of irrealis
    markers. ``topic`` is not scored (the incident is, whatever its topic)."""
    del topic  # kept in the signature for callers; the topic does not score
    t = _Text(text if text is not None else "".join(tokens))
    reasons: list[str] = []
    score = 0
    major: list[str] = []

    def add(points: int, reason: str) -> None:
        nonlocal score
        if points:
            score += points
            reasons.append(f"{reason} +{points}")

    if sentiment == "negative":
        add(W["neg_base"] + round(W["neg_slope"] * max(0.0, negativity - 0.5) * 2), f"负面诉求（强度 {negativity:.2f}）")

    # One scan for the words of every factor; keep those the text says happened.
    found: dict[str, list[str]] = {}
    announced: list[str] = []
    animal_deaths: list[str] = []
    txt = t.text
    for m in sorted((m for scan in _SCANS for m in scan.finditer(txt)), key=lambda m: m.start()):
        word = m.group()
        if word in _NOT_AFTER and any(txt.endswith(p, 0, m.start()) for p in _NOT_AFTER[word]):
            continue
        quoted = m.start() and txt[m.start() - 1] in '“"「‘' and txt[m.end() : m.end() + 1] in ("”", '"', "」", "’")
        mood = ""
        for factor in _factors_of(word):
            if quoted and factor in _ACTS:  # a word in quotes on its own (建议是“跳楼”) is said, not done
                continue
            if factor == "vulnerable":  # who is affected: no mood
                found.setdefault(factor, []).append(word)
                continue
            mood = mood or t.mood(m.start(), m.end())
            if mood != "real":
                if factor in ("strong", "collective") and (mood == "risk" or (mood != "negated" and t.announced(m.start()))):
                    announced.append(word)
                continue
            if factor == "death" and _ANIMAL.search(txt, max(0, m.start() - 8), m.start()):
                animal_deaths.append(word)
                continue
            if factor == "death" and _NATURAL.search(txt, max(0, m.start() - 10), m.start()):
                continue
            if factor == "strong" and (_PAST.search(txt, max(0, m.start() - 6), m.start()) or _PAST.match(txt, m.end(), m.end() + 3)):
                factor = "strong_past"
            words = found.setdefault(factor, [])
            if word not in words:
                words.append(word)
    get = found.get

    death = get("death")
    if death:
        add(W["death"], f"死亡{_quote(death)}")
        major.append("死亡")
    serious, injury, violence = get("serious"), get("injury"), get("violence")
    if serious:
        add(W["serious_injury"], f"重伤{_quote(serious)}")
    elif injury:
        add(W["injury"], f"受伤{_quote(injury)}")
    if violence:
        add(W["violence"], f"暴力{_quote(violence)}")
    illness = get("illness")
    if illness and not (serious or injury):
        add(W["illness"], f"健康受损{_quote(illness)}")

    accident, hazard = get("accident"), get("hazard")
    if accident:
        add(W["accident"], f"事故{_quote(accident)}")
    if hazard:
        add(W["hazard"], f"隐患{_quote(hazard)}")
    pollution = get("pollution", [])
    if pollution or animal_deaths:
        add(W["pollution"], f"严重污染{_quote(animal_deaths + pollution)}")
        if animal_deaths or "颗粒无收" in pollution or "死绝" in pollution:
            add(
                W["major_pollution"],
                f"重大污染{_quote([w for w in animal_deaths + pollution if w in ('颗粒无收', '死绝')] or animal_deaths)}",
            )
            major.append("重大污染")

    strong, past, weaker = get("strong"), get("strong_past"), get("collective")
    if strong:
        add(W["collective_strong"], f"集体行动{_quote(strong)}")
        major.append("集体行动")
    elif past:
        add(W["collective_past"], f"曾有集体行动{_quote(past)}")
    elif weaker:
        add(W["collective"], f"维权行动{_quote(weaker)}")
    elif announced:
        add(W["threat_to_act"], f"扬言行动{_quote(announced)}")

    extreme = get("extreme")
    if extreme:
        add(W["extreme"], f"极端行为{_quote(extreme)}")
        major.append("极端行为")
    threat = get("threat")
    if threat:
        add(W["threat"], f"威胁恐吓{_quote(threat)}")
    for factor, label in (("police", "警力介入"), ("media", "媒体关注"), ("higher", "反映至上级"), ("nuisance", "侵害民生")):
        named = get(factor)
        if named:
            add(W[factor], f"{label}{_quote(named)}")

    (people, people_quote), (money, money_quote) = numbers(txt)

    wage: list[str] = []
    for m in _PAY.finditer(txt):
        unpaid = _UNPAID.search(txt, max(0, m.start() - 12), m.end() + 12)
        if unpaid:
            lo, hi = min(m.start(), unpaid.start()), max(m.end(), unpaid.end())
            if t.mood(lo, hi) in ("real", "question"):
                wage.append(txt[lo:hi])
                break
    if wage and (people >= 3 or _WORKERS.search(txt)):
        add(W["wage_group"], f"群体欠薪{_quote(wage, 1)}")
        if people >= 20 or money >= 500_000:
            add(W["mass_wage"], f"大规模欠薪「{people_quote if people >= 20 else money_quote}」")
            major.append("大规模欠薪")
    finance = get("finance")
    if finance:
        add(W["finance"], f"涉众金融{_quote(finance)}")
        if people >= 1000 or money >= 1e8:
            add(W["mass_finance"], f"大规模涉众「{people_quote if people >= 1000 else money_quote}」")
            major.append("涉众金融")

    if people >= 1000:
        add(W["scale_1000"], f"涉及人数「{people_quote}」")
    elif people >= 100:
        add(W["scale_100"], f"涉及人数「{people_quote}」")
    elif people >= 10:
        add(W["scale_10"], f"涉及人数「{people_quote}」")
    if money >= 1e8:
        add(W["money_100m"], f"涉及金额「{money_quote}」")
    elif money >= 1e7:
        add(W["money_10m"], f"涉及金额「{money_quote}」")
    elif money >= 1e6:
        add(W["money_1m"], f"涉及金额「{money_quote}」")

    homeless = get("homeless")
    if homeless and people >= 100:
        add(W["homeless"], f"大批住户无房{_quote(homeless, 1)}「{people_quote}」")

    vulnerable = get("vulnerable")
    if vulnerable and (death or serious or injury or violence or accident or hazard or threat or pollution):
        add(W["vulnerable"], f"弱势群体{_quote(vulnerable, 1)}")

    if event.recent >= 3:
        add(min(20, 2 * event.recent), f"同一事件 2 小时内 {event.recent} 帖")
    elif event.size > 1:
        add(min(10, 2 * (event.size - 1)), f"同一事件累计 {event.size} 帖")
    if event.sources > 1:
        add(min(10, 5 * (event.sources - 1)), f"{event.sources} 个来源同时出现")

    if score > 100:
        reasons.append(f"封顶 100（原始 {score}）")
        score = 100
    if score > MAJOR_CEILING and not major:
        reasons.append(f"未见死亡、集体行动、极端行为、重大污染、大规模欠薪或涉众，按高计（原始 {score}）")
        score = MAJOR_CEILING
    return Risk(score=score, level=level_of(score), reasons=reasons)  # type: ignore[arg-type]
