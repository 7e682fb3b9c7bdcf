"""Event clustering: posts about the same incident share an ``event_id``.

Two posts belong to one event when they were published within ``window`` of each other and
one of these holds (``same_event``):

1. **near-verbatim** — character-bigram Jaccard ≥ 0.5, and they do not name different places
   or organisations (a form letter sent about two different estates stays two events);
2. **retelling** — Jaccard ≥ 0.3 and at least one shared name (estate, river, company, project,
   village, road …);
3. **same place, same complaint** — a shared name (not only a road, station or bridge: those have
   many incidents at once) *and* much the same complaint kinds (noise,
   smell, blockage, unpaid wages …, ``ASPECTS``; at least a third of the kinds either post names)
   and Jaccard ≥ 0.03: three hotline orders about the night works by the same river, told in
   different words.

Names are cut from the text by their suffix (``东光花园``, ``泮洋河``, ``丽发新城``,
``楚瑞公司``); administrative names (县, 镇, 乡, 街道) are not names here, because a township
has many incidents at once, and generic ones (``物业公司``, ``居民小区``) are dropped.

Stateless: candidates are found through **keys** stored with every post (``event_keys``):
MinHash LSH bands over the character bigrams (rule 1) and ``e:<name>`` for every name (rules 2
and 3). The processing stage looks them up in the store, one query per batch, so any worker
finds an earlier retelling whichever partition it came from. ``MemoryIndex`` does the same in
memory where there is no store (``yuqing classify``, tests).

Event ids are deterministic: an event is named after the post that started it
(``ev-`` + sha1(post id)). A post joins the event of its earliest matching post. Two workers
that see the first two retellings at the same moment both start an event; ``reconcile``, run by
each worker after its store write, finds such twins (posts of the other event written since
the lookup) and moves the later event's posts into the event of the earliest post — the same
answer whichever worker runs it, so they cannot undo each other (docs/processors.md). The same
step merges two events that a later post shows to be one (posts that arrived out of order).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Protocol

import numpy as np

RECENT = timedelta(hours=2)
NEAR_VERBATIM = 0.5  # bigram Jaccard
RETELLING = 0.3  # bigram Jaccard, with a shared name
SAME_COMPLAINT = 0.03  # bigram Jaccard, with a shared name and much the same complaint kinds
BANDS, ROWS = 20, 3  # MinHash LSH: P(candidate) = 1 - (1 - J^3)^20: 0.93 at J=0.5, 0.42 at 0.3
MAX_NAMES = 16  # names kept (as keys) per post

# --- names -------------------------------------------------------------------------------

_KEEP = re.compile(r"[\u4e00-\u9fff0-9a-z]+")
# Suffixes that end a place, estate, water, organisation or project name. Longest first.
_SUFFIX_WORDS = """小区 花园 新城 家园 新村 公寓 山庄 别墅 大厦 广场 公园 市场 社区 公司 集团 项目部 项目 工地
    驾校 学校 中学 小学 幼儿园 医院 银行 支行 酒店 麻将馆 搅拌站 河 溪 湖 港 苑 府 村 路 巷 桥 厂 站"""
_SUFFIXES = sorted(_SUFFIX_WORDS.split(), key=len, reverse=True)
_SUFFIX = re.compile("|".join(_SUFFIXES))
_NAME_CHARS = re.compile("[\u4e00-\u9fffa-z]{2}")
_NUMBER = re.compile(r"\d{2,}(?:栋|户|室|号楼|名|位|人)")
# Two characters before a suffix that make no name: function words, generic nouns, and the
# anonymised codes of the 问政 data. Read off the most frequent prefixes of the 8,611 real posts.
_STOP_CHARS = set("的了在是和与及对向给过于由为把被从到就都也还又有无不没该其此等们这那个一我你他她它您啊吗呢吧着让将很最")
_GENERIC_WORDS = """市政 有限 物业 建设 公交 国际 小区 人民 现在 整个 安置 周边 地产 实验 影响 中心 导致 新城 垃圾 其他 住宅
    附近 地铁 施工 火车 部分 街道 进入 改造 开发 配套 过马 建筑 问题 作为 居民 工程 收费 十字 公办 学校 社区
    投诉 解决 几个 服务 处理 两个 很多 造成 因为 一条 花园 由于 小学 公园 在马 加油 农贸 进出 什么 目前 公立
    但是 交车 治理 汽车 商业 全体 民办 业主 高架 要求 区内 经之 管理 高铁 新建 速公 文化 断头 条道 行道 交叉
    市道 规定 新村 规划 培训 市农 生活 快速 立交 交通 老旧 燃气 建的 中小 上的 不是 通过 严重 就是 里的 首末
    河道 占用 私立 关于 责任 当地 别的 到了 终点 希望 家园 河内 条内 理内 区道 水务 来水 公司 村民 农村 美丽
    乡村 城市 城乡 县城 马路 道路 公路 铁路 内河 小河 大河 支河 水泥 泥巴 搅拌 污水 自来 派出 卫生 幼儿 养老
    政府 镇政 县政 区政 省政 村委 居委 社会 集体 私人 个人 民营 国有 外地 本地 当时 以前 后来 今年 去年 明年
    每天 晚上 白天 一些 多个 各个 所有 整条 这条 那条 一所 一家 一座 一栋 同一 原来 原有 大型 小型 新的 旧的"""
_GENERIC = set(_GENERIC_WORDS.split())
_ADMIN_TAIL = ("县", "区", "市", "省", "镇", "乡")
# the last prefix character and the suffix make a common noun, not a name (原来道路, 这条内河)
_GENERIC_TAIL = {
    "道路",
    "马路",
    "公路",
    "铁路",
    "内河",
    "小河",
    "大河",
    "运河",
    "河河",
    "新村",
    "大桥",
    "小桥",
    "工厂",
    "线路",
    "车站",
    "地铁站",
    "电站",
}


def _norm(text: str) -> str:
    return "".join(_KEEP.findall(text.lower()))


def names(text: str) -> list[str]:
    """Place, estate, water, organisation and project names in ``text``, in order of first
    appearance (normalised: lower case, no punctuation)."""
    return _names(_norm(text))


def _names(t: str) -> list[str]:
    seen: dict[str, None] = {}
    for m in _SUFFIX.finditer(t):
        i = m.start()
        prefix, suffix = t[i - 2 : i], m.group()
        if i < 2 or not _NAME_CHARS.fullmatch(prefix):
            continue
        if prefix in _GENERIC or _STOP_CHARS & set(prefix) or prefix.endswith(_ADMIN_TAIL) or prefix[-1] + suffix in _GENERIC_TAIL:
            continue
        if suffix == "府" and prefix.endswith("政"):
            continue
        seen.setdefault(prefix + suffix, None)
    return list(seen)


# Roads, stations and bridges have many incidents at once (and a city's traffic suggestions name
# the same few): such a name alone does not make two posts about one place one event (rule 3).
_WEAK = ("路", "站", "桥")


def strong(names: frozenset[str]) -> frozenset[str]:
    return frozenset(n for n in names if not n.endswith(_WEAK))


def numbers(text: str) -> set[str]:
    """Counted things with their unit (``185户``, ``31栋``, ``20名``): evidence, never keys."""
    return set(_NUMBER.findall(_norm(text)))


def _numbers(t: str) -> set[str]:
    return set(_NUMBER.findall(t))


# Kinds of complaint, by the words (regular expressions) that say them. Two posts about one place
# are one event only if they complain about much the same kinds of thing (night works by the
# river ≠ the river stinks ≠ the works took the estate's parking).
ASPECTS: dict[str, tuple[str, ...]] = {
    "噪音": ("噪音", "噪声", "(?:凌晨|半夜|深夜|夜间|夜里|晚上)\\w{0,8}施工", "施工到", "通宵", "通霄", "吵", "入睡", "睡眠"),
    "异味": ("臭", "异味", "味道", "气味"),
    "水质": ("水质", "污水(?!处理|管网|厂)", "排污", "发黑", "黑水"),
    "堵涝": ("堵了", "堵塞", "就堵", "必堵", "积水", "下雨", "内涝", "淹"),
    "灯光": ("灯光", "景观灯", "光污染"),
    "扬尘": ("灰尘", "扬尘", "粉尘"),
    "欠薪": ("工资", "工钱", "欠薪", "讨薪", "血汗钱", "薪资"),
    "占用": ("占用", "围挡", "停车", "空地", "占道"),
    "工期": ("完工", "工期", "进度", "退场"),
    "拆迁": ("拆迁", "征收", "安置"),
    "房屋": ("倒塌", "裂缝", "裂纹", "危房"),
    "交通": ("公交", "拥堵", "红绿灯"),
    "麻将": ("麻将",),
    "质量": ("偷工减料", "图纸", "豆腐渣"),
    "消防": ("消防", "火灾", "起火"),
    "收费": ("收费", "押金", "乱扣", "退款", "退费"),
    "违建": ("违建", "违章建筑", "私搭"),
    "上学": ("入学", "转学", "学位", "就读"),
}


_ASPECTS = [(kind, re.compile("|".join(words))) for kind, words in ASPECTS.items()]


def aspects(text: str) -> frozenset[str]:
    return frozenset(kind for kind, pattern in _ASPECTS if pattern.search(text))


# --- shingles and MinHash ------------------------------------------------------------------

# The permutations' fixed random masks (keys must be the same in every process), written out:
# np.random.default_rng(20261204).integers(0, 1 << 63, BANDS * ROWS, dtype=np.uint64), without
# importing numpy.random at every start (~5 ms; tests/processors/test_clustering.py checks them).
_MASKS_HEX = """
    2DAF6937A73E617B 6E55F1FC39FB52F6 1980406AECFB44FD 1B16AEFAE6B0D23C 2B9B689D0D5DE28D 6A7E42BD0028B72F 6EFE38755155F846
    3F4779814F9451B3 7FDE17FEE4ACB16B 07A6BC0CF20D2B2F 3E4A64D4146D44F0 5801CD41E602070A 278DC6D1E2805C4C 3E7DAAF162A8A034
    754CA0F743C9B49B 23AE6D5280D3AFB9 7CE081B2C95439FF 025B8198FD697015 780822B5E7616DAD 597F4A1A86DD531A 4C5B5BEC23720E63
    793E5B18C19009B2 509D956BC1F1DB1C 59E4646CA70A2138 7AB34A9833486858 0A15C04122826F45 41FC2930119AE858 09CF3DE703BC34A6
    65F73F092523757C 37DCE412DA737BC5 13D013708FEF6B57 774F2E01A425765E 5133B751F9228A34 4EC4DBD628DC8122 0321DA0748BE9714
    2CD4E84290364A94 083F718C0B4763CB 69340C70A52BC55D 565EA6D231208795 22878106A63FEEAA 4AA0EB29F7C125AE 6A0C6F2BB6622B5D
    7C234A6300627F13 071E903DC9F32424 5C4293597363E510 4E86A1444D8734BD 5730F95ACFD481FD 23214923574E1434 59E0FDE2975C9802
    33C0AEE8E4462DA1 0205163DDA95A9C4 10E6A4AF30229C9C 6A018D28063EBA17 3BBF0DFBB9BD9174 0D885F79E7792BEB 51A46DF02D2E6A4A
    028D7B9008F6C92A 05C4EDFD89872271 51A861EBA195D5FD 6D31C5841CD22544
"""
_MASKS = np.array([int(x, 16) for x in _MASKS_HEX.split()], np.uint64)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_BAND_MASK = np.uint64((1 << 48) - 1)


def bigrams(text: str) -> np.ndarray:
    """Sorted unique character bigrams of the normalised text, each as one integer."""
    return _bigrams(_norm(text))


def _codes(t: str) -> np.ndarray:
    """Every character bigram of ``t`` as one integer, in text order (repeats kept)."""
    if len(t) < 2:
        return np.zeros(0, np.uint64)
    cp = np.frombuffer(t.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    return (cp[:-1] << np.uint64(21)) | cp[1:]


def _bigrams(t: str) -> np.ndarray:
    # a sort and a neighbour comparison: ~4x faster than ``np.unique`` (hash-based in numpy 2.4)
    s = np.sort(_codes(t))
    if s.size < 2:
        return s
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted sets of distinct integers: each element of the smaller
    one is looked up in the larger by binary search (no merge sort of both, as ``intersect1d``)."""
    if not len(a) or not len(b):
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    at = np.searchsorted(b, a)
    at[at == len(b)] = 0
    inter = int(np.count_nonzero(b[at] == a))
    return inter / (len(a) + len(b) - inter)


def _distinct_at_least(a: np.ndarray, n: int) -> bool:
    """Whether ``a`` holds at least ``n`` distinct values (without sorting it)."""
    for _ in range(n):
        if a.size == 0:
            return False
        a = a[a != a[0]]
    return True


def minhash_bands(shingles: np.ndarray) -> list[str]:
    """LSH band keys ``m<band>:<hash>`` of the MinHash signature. Each shingle is mixed once
    (multiply by the golden-ratio constant, xor-shift) and the permutations are xors with fixed
    random masks: one vectorised pass, the same keys in every process. Repeated shingles change
    nothing (a minimum), so they need not be removed first."""
    if not _distinct_at_least(shingles, ROWS):
        return []
    h = shingles * _GOLDEN  # wraps mod 2^64
    h ^= h >> np.uint64(29)
    h *= _GOLDEN
    sig = np.bitwise_xor.outer(_MASKS, h).min(axis=1).reshape(BANDS, ROWS)  # (masks, shingles): rows reduce contiguously
    band = sig[:, 0]
    for r in range(1, ROWS):
        band = band * _GOLDEN + sig[:, r]
    band = (band ^ (band >> np.uint64(31))) & _BAND_MASK
    hexed = band.astype("<u8").tobytes().hex()
    return [f"m{i}:{hexed[16 * i : 16 * i + 12]}" for i in range(BANDS)]


# --- SimHash (kept for the benchmark's baseline: the clusterer before 2026-12) ---------------

_MASK = (1 << 64) - 1


@lru_cache(maxsize=200_000)
def _h64(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def simhash(tokens: list[str]) -> int:
    """64-bit SimHash, token weight = count, tokens of one character ignored (mostly noise)."""
    weights = Counter(t for t in tokens if len(t) >= 2)
    if not weights:
        return 0
    hashes = np.fromiter((_h64(t) for t in weights), np.uint64, len(weights))
    w = np.fromiter(weights.values(), np.float64, len(weights))
    bits = np.unpackbits(hashes.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    acc = (2.0 * bits - 1.0).T @ w
    return int(np.packbits(acc > 0, bitorder="little").view("<u8")[0]) & _MASK


# --- fingerprints and the pair decision ------------------------------------------------------


class Fingerprint:
    """What the pair decision reads of a post. The keys (MinHash bands and names) are made at
    once; the sorted shingle set, the counted things and the complaint kinds only when a
    candidate is compared (most posts have none), from the normalised text kept here."""

    __slots__ = ("_aspects", "_numbers", "_shingles", "keys", "names", "text")

    def __init__(self, text: str, names: frozenset[str], keys: tuple[str, ...]) -> None:
        self.text = text  # normalised (``_norm``)
        self.names = names
        self.keys = keys
        self._shingles: np.ndarray | None = None
        self._numbers: frozenset[str] | None = None
        self._aspects: frozenset[str] | None = None

    @property
    def shingles(self) -> np.ndarray:
        if self._shingles is None:
            self._shingles = _bigrams(self.text)
        return self._shingles

    @property
    def numbers(self) -> frozenset[str]:
        if self._numbers is None:
            self._numbers = frozenset(_numbers(self.text))
        return self._numbers

    @property
    def aspects(self) -> frozenset[str]:
        if self._aspects is None:
            self._aspects = aspects(self.text)
        return self._aspects


def fingerprint(title: str, content: str) -> Fingerprint:
    text = f"{title}\n{content}" if title else content
    t = _norm(text)
    ns = _names(t)[:MAX_NAMES]
    # the minimum of each permutation does not change with repeated shingles: no sort needed here
    keys = tuple(minhash_bands(_codes(t)) + [f"e:{n}" for n in ns])
    return Fingerprint(t, frozenset(ns), keys)


def same_event(a: Fingerprint, b: Fingerprint) -> str | None:
    """Why ``a`` and ``b`` tell the same incident (their times aside), or None.

    The conditions on names, numbers and complaint kinds are settled first and the similarity
    (the costliest part) is computed only when one rule can still hold."""
    shared = a.names & b.names
    verbatim = bool(shared) or not a.names or not b.names  # rule 1 without its similarity
    numbers = a.numbers & b.numbers if not shared else frozenset()
    retelling = bool(shared) or bool(numbers)  # rule 2 without its similarity
    kinds: frozenset[str] = frozenset()
    if strong(shared):
        kinds = a.aspects & b.aspects
    complaint = bool(kinds) and 3 * len(kinds) >= len(a.aspects | b.aspects)  # rule 3 without it
    if not (verbatim or retelling or complaint):
        return None
    j = jaccard(a.shingles, b.shingles)
    if verbatim and j >= NEAR_VERBATIM:
        return f"近似转发（相似度 {j:.2f}）"
    if retelling and j >= RETELLING:
        common = shared | (a.numbers & b.numbers)
        return f"同一事件复述（相似度 {j:.2f}，共同：{'、'.join(sorted(common)[:3])}）"
    if complaint and j >= SAME_COMPLAINT:
        return f"同一地点同类诉求（{'、'.join(sorted(shared)[:3])}；{'、'.join(sorted(kinds))}）"
    return None


# --- the index the clusterer looks candidates up in ----------------------------------------


@dataclass(frozen=True)
class Member:
    """A post already assigned to an event, as the index returns it."""

    post_id: str
    event_id: str
    published_at: datetime
    source: str
    title: str
    content: str


class EventIndex(Protocol):
    def lookup(self, keys: Sequence[str], since: datetime, until: datetime) -> list[Member]:
        """Posts published in [since, until] that carry any of ``keys``."""

    def members(self, event_ids: Sequence[str], since: datetime, until: datetime) -> list[Member]:
        """Posts of these events published in [since, until]."""

    def remember(self, members: Sequence[tuple[Member, Sequence[str]]]) -> None:
        """Record assigned posts with their keys (a no-op where the store write does it)."""


class MemoryIndex:
    """The index in process memory, bounded to the last ``capacity`` posts: for ``yuqing
    classify`` and tests. The processing stage uses the store (``processors.worker.StoreIndex``)."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._posts: OrderedDict[str, tuple[Member, tuple[str, ...]]] = OrderedDict()
        self._by_key: defaultdict[str, set[str]] = defaultdict(set)
        self._by_event: defaultdict[str, set[str]] = defaultdict(set)

    def lookup(self, keys: Sequence[str], since: datetime, until: datetime) -> list[Member]:
        ids: set[str] = set()
        for k in keys:
            ids |= self._by_key.get(k, set())
        return self._within(ids, since, until)

    def members(self, event_ids: Sequence[str], since: datetime, until: datetime) -> list[Member]:
        ids: set[str] = set()
        for e in event_ids:
            ids |= self._by_event.get(e, set())
        return self._within(ids, since, until)

    def _within(self, ids: set[str], since: datetime, until: datetime) -> list[Member]:
        return [m for m, _ in (self._posts[i] for i in ids) if since <= m.published_at <= until]

    def remember(self, members: Sequence[tuple[Member, Sequence[str]]]) -> None:
        for m, keys in members:
            self._forget(m.post_id)
            self._posts[m.post_id] = (m, tuple(keys))
            by_key = self._by_key
            for k in keys:
                by_key[k].add(m.post_id)
            self._by_event[m.event_id].add(m.post_id)
        while len(self._posts) > self.capacity:
            self._forget(next(iter(self._posts)))

    def _forget(self, post_id: str) -> None:
        old = self._posts.pop(post_id, None)
        if old is None:
            return
        m, keys = old
        for k in keys:
            self._by_key.get(k, set()).discard(post_id)
        self._by_event.get(m.event_id, set()).discard(post_id)


# --- the clusterer ----------------------------------------------------------------------------


@dataclass
class EventStats:
    event_id: str
    posts: dict[str, tuple[datetime, str]] = field(default_factory=dict)  # post id -> (time, source id)
    reason: str | None = None  # why the post joined (None: it started the event)

    @property
    def size(self) -> int:
        return len(self.posts)

    def recent(self, at: datetime, span: timedelta = RECENT) -> int:
        return sum(1 for t, _ in self.posts.values() if at - span <= t <= at)

    @property
    def sources(self) -> int:
        return len({s for _, s in self.posts.values()})

    @property
    def first_seen(self) -> datetime:
        return min(t for t, _ in self.posts.values())


@dataclass(frozen=True)
class Incoming:
    post_id: str
    title: str
    content: str
    published_at: datetime
    source: str


@dataclass(frozen=True)
class Assignment:
    event_id: str
    keys: tuple[str, ...]
    stats: EventStats


def new_event_id(post_id: str) -> str:
    return "ev-" + hashlib.sha1(post_id.encode("utf-8")).hexdigest()[:16]


def _order(m: Member) -> tuple[datetime, str]:
    return (m.published_at, m.post_id)


class EventClusterer:
    """Assigns events batch by batch through an ``EventIndex``: one ``lookup`` and one
    ``members`` call per batch, whatever its size. Holds no state of its own beyond a cache of
    fingerprints (by post id) that saves recomputing them for candidates seen before."""

    def __init__(self, index: EventIndex | None = None, window: timedelta = timedelta(hours=72), cache: int = 50_000) -> None:
        self.index: EventIndex = index if index is not None else MemoryIndex()
        self.window = window
        self._cache: OrderedDict[str, Fingerprint] = OrderedDict()
        self._cache_size = cache

    def _fp(self, post_id: str, title: str, content: str) -> Fingerprint:
        fp = self._cache.get(post_id)
        if fp is None:
            fp = self._cache[post_id] = fingerprint(title, content)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(post_id)
        return fp

    def assign(self, post_id: str, title: str, content: str, at: datetime, source: str = "") -> EventStats:
        return self.assign_many([Incoming(post_id, title, content, at, source)])[0].stats

    def assign_many(self, posts: Sequence[Incoming]) -> list[Assignment]:
        if not posts:
            return []
        fps = [self._fp(p.post_id, p.title, p.content) for p in posts]
        lo = min(p.published_at for p in posts) - self.window
        hi = max(p.published_at for p in posts) + self.window
        keys = sorted({k for fp in fps for k in fp.keys})
        known: dict[str, Member] = {m.post_id: m for m in self.index.lookup(keys, lo, hi)} if keys else {}
        key_of: defaultdict[str, set[str]] = defaultdict(set)  # key -> candidate post ids (known and this batch)
        wanted = set(keys)  # only the batch's keys find candidates
        for m in known.values():
            for k in wanted.intersection(self._fp(m.post_id, m.title, m.content).keys):
                key_of[k].add(m.post_id)
        assigned: dict[str, Member] = {}
        reasons: dict[str, str | None] = {}
        # oldest first, so that within a batch a retelling joins the post it retells
        order = sorted(range(len(posts)), key=lambda i: (posts[i].published_at, posts[i].post_id))
        for i in order:
            p, fp = posts[i], fps[i]
            previous = known.get(p.post_id)
            if previous is not None:  # redelivered: keep its event
                event, reason = previous.event_id, None
            else:
                event, reason = self._match(p, fp, key_of, known, assigned)
            assigned[p.post_id] = Member(p.post_id, event, p.published_at, p.source, p.title, p.content)
            reasons[p.post_id] = reason
            for k in fp.keys:
                key_of[k].add(p.post_id)
        self.index.remember([(assigned[p.post_id], fp.keys) for p, fp in zip(posts, fps, strict=True)])
        return self._assignments(posts, fps, assigned, reasons, known)

    def _match(
        self, p: Incoming, fp: Fingerprint, key_of: dict[str, set[str]], known: dict[str, Member], assigned: dict[str, Member]
    ) -> tuple[str, str | None]:
        candidates: set[str] = set()
        for k in fp.keys:
            candidates |= key_of.get(k, set())
        members = [assigned.get(cid) or known[cid] for cid in candidates if cid != p.post_id]
        # earliest first: the first match is the one to join, and a big event (many copies of
        # one text) costs one comparison instead of one per member
        for m in sorted(members, key=_order):
            if abs(m.published_at - p.published_at) > self.window:
                continue
            why = same_event(fp, self._fp(m.post_id, m.title, m.content))
            if why is not None:
                return m.event_id, why
        return new_event_id(p.post_id), None

    def _assignments(
        self,
        posts: Sequence[Incoming],
        fps: Sequence[Fingerprint],
        assigned: dict[str, Member],
        reasons: dict[str, str | None],
        known: dict[str, Member],
    ) -> list[Assignment]:
        by_event: dict[str, list[Member]] = {}
        for m in assigned.values():
            by_event.setdefault(m.event_id, []).append(m)
        stats: dict[str, EventStats] = {e: EventStats(e) for e in by_event}
        # only events that existed before this batch can have members in the index
        older = sorted({m.event_id for m in known.values()} & set(by_event))
        if older:
            lo = min(p.published_at for p in posts) - self.window
            hi = max(p.published_at for p in posts)
            for m in self.index.members(older, lo, hi):
                if m.event_id in stats and m.post_id not in assigned:
                    stats[m.event_id].posts[m.post_id] = (m.published_at, m.source)
        out = []
        for p, fp in zip(posts, fps, strict=True):
            m = assigned[p.post_id]
            full = stats[m.event_id]
            # what the event looked like when this post arrived: earlier members only
            view = EventStats(m.event_id, reason=reasons[p.post_id])
            view.posts = {
                pid: (t, s) for pid, (t, s) in full.posts.items() if abs(t - p.published_at) <= self.window and t <= p.published_at
            }
            for other in by_event[m.event_id]:
                if _order(other) <= _order(m):
                    view.posts[other.post_id] = (other.published_at, other.source)
            out.append(Assignment(m.event_id, fp.keys, view))
        return out

    # -- merging ---------------------------------------------------------------------------------

    def reconcile(self, batch: Sequence[Member]) -> dict[str, str]:
        """After this batch was written (and is visible to lookups): look its keys up again and
        merge every event that a post of the batch links to its own. That covers an event
        started twice for one incident by two workers at the same moment (each wrote before
        seeing the other), and a post that bridges two events started earlier (posts arriving
        out of order). Each group of linked events keeps the event whose earliest post is the
        earliest (then the smaller id), so every worker that sees the same posts makes the same
        choice and none can undo another's. Returns post id -> new event id for every post, of
        the batch or stored, that must move."""
        if not batch:
            return {}
        lo = min(m.published_at for m in batch) - self.window
        hi = max(m.published_at for m in batch) + self.window
        fps = {m.post_id: self._fp(m.post_id, m.title, m.content) for m in batch}
        keys = sorted({k for fp in fps.values() for k in fp.keys})
        mine = {m.post_id: m for m in batch}
        found = {m.post_id: m for m in self.index.lookup(keys, lo, hi)} if keys else {}
        for pid, m in mine.items():  # the index's copy is fresher: another worker may have moved it
            found.setdefault(pid, m)
        key_of: dict[str, set[str]] = {}
        for m in found.values():
            for k in self._fp(m.post_id, m.title, m.content).keys:
                key_of.setdefault(k, set()).add(m.post_id)
        links: list[tuple[str, str]] = []
        for b in (found[m.post_id] for m in batch):
            candidates: set[str] = set()
            for k in fps[b.post_id].keys:
                candidates |= key_of.get(k, set())
            for cid in candidates:
                c = found[cid]
                if c.event_id == b.event_id or abs(c.published_at - b.published_at) > self.window:
                    continue
                if same_event(fps[b.post_id], self._fp(c.post_id, c.title, c.content)):
                    links.append((b.event_id, c.event_id))
        if not links:
            return {}
        events = sorted({e for link in links for e in link})
        everyone = {m.post_id: m for m in self.index.members(events, lo - self.window, hi)}
        everyone.update({pid: m for pid, m in found.items() if m.event_id in events})
        first: dict[str, tuple[datetime, str]] = {}
        for m in everyone.values():
            if m.event_id in events and (m.event_id not in first or _order(m) < first[m.event_id]):
                first[m.event_id] = _order(m)
        parent = {e: e for e in events}

        def root(e: str) -> str:
            while parent[e] != e:
                e = parent[e]
            return e

        for ea, eb in links:
            ra, rb = root(ea), root(eb)
            if ra != rb:
                keep, drop = sorted((ra, rb), key=lambda e: (first[e], e))
                parent[drop] = keep
        moves = {m.post_id: root(m.event_id) for m in everyone.values() if m.event_id in parent and root(m.event_id) != m.event_id}
        if moves:
            self.index.remember(
                [
                    (
                        Member(m.post_id, moves[m.post_id], m.published_at, m.source, m.title, m.content),
                        self._fp(m.post_id, m.title, m.content).keys,
                    )
                    for m in everyone.values()
                    if m.post_id in moves
                ]
            )
        return moves
