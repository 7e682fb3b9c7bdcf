"""Keywords per post: TF-IDF over the post's tokens, computed from the one tokenisation
(``jieba.analyse.extract_tags`` would segment again), then cleaned so that a reader sees names
and subjects, not fragments.

The IDF table is learnt from our own corpus of citizen posts (``yuqing train`` writes
``models/keywords_idf.npz``, ~30k words): it suits the domain better than jieba's general one
and takes a few MB of memory instead of ~190 MB.

What a reader judged junk in the first version (issue 15: 81 of 150 posts had two or more), and
what is done about each, in order:

1. Anonymised codes glued to a name (``A市金茂府`` → ``市金茂府``, ``A7县龙盛村`` → ``县龙`` +
   ``盛村``): after a Latin/digit code token the administrative character (市 县 区 …) is cut
   off; a one-character rest is joined back to the next token (``龙盛村``), unless the glued
   token was a dictionary word of its own (``市政``, ``市区``: then it is the code's suffix plus
   an ordinary word and is dropped).
2. Names cut in two (``船`` + ``山西路``, ``木莲`` + ``路``, ``沙柳`` + ``村``): a place word
   (``路 村 河 …``) is joined to the name-like token before it.
3. Names and phrases the tokeniser splits (``海伦`` + ``春天``, ``朝正`` + ``美苑``): two
   adjacent content tokens that occur together at least twice in the post become one phrase,
   and a phrase outranks its parts.
4. Filler, numbers and one-off rarities: only nouns, names, verbal nouns and (at a discount)
   verbs are kept, by the dictionary's part of speech; a stop list removes the board's
   boilerplate and generic verbs; anything with a digit goes (``13.00``, ``2019.7.21``) except a
   few real terms (``pm2.5``); a word the corpus has (almost) never seen must occur twice or be
   in the title (``人吃人`` said once in passing is not what a post is about).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from itertools import compress
from pathlib import Path

import numpy as np

from yuqing.text import _jieba, has_word

IDF_PATH = Path(__file__).resolve().parent / "models" / "keywords_idf.npz"
GENERIC_PATH = Path(__file__).resolve().parent / "keywords_generic.txt"
_CJK = re.compile(r"[\u3400-\u9fff]")
_DIGIT = re.compile(r"\d")
# Latin terms worth a keyword; every other token without a Chinese character is dropped.
LATIN_TERMS = frozenset({"pm2.5", "pm10", "5g", "4g", "wifi", "ktv", "app", "etc", "atm", "led", "ppp", "vr", "gps", "p2p"})
ADMIN = frozenset("省市县区镇乡村")
# Single characters that end a place or project name and are often cut off it.
PLACE_END = frozenset("路街巷道村河桥湖港湾坪岭塘冲洲园苑城府庄寨镇乡坝圩埠渡湾里弄")
# Parts of speech kept (jieba's tag set): nouns, names, places, organisations, other proper
# nouns, verbal and adjectival nouns, abbreviations; verbs at a discount.
NOUN_TAGS = frozenset({"n", "nr", "nrt", "nrfg", "ns", "nt", "nz", "vn", "an", "j", "nw"})
NAME_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nt", "nz", "j", "x"})
VERB_TAGS = frozenset({"v"})
VERB_WEIGHT = 0.6
UNKNOWN_WEIGHT = 0.99  # marks a word the dictionary lacks (an HMM guess): must occur twice or in the title
# Tags that never join a phrase or a name: pronouns, adverbs, prepositions, conjunctions,
# particles, numerals, measure words, directions, interjections, modal words.
FUNCTION_TAGS = frozenset(
    {"r", "rr", "rz", "d", "p", "c", "u", "uj", "ul", "uv", "ug", "uz", "ud", "y", "e", "o", "m", "mq", "q", "f", "zg"}
)
TITLE_BONUS = 1.5
# Past the first MIN_KEYWORDS, a keyword scoring below this share of the post's best one is left
# out (the tail is mostly filler).
MIN_RELATIVE = 0.2
MIN_KEYWORDS = 4
PHRASE_BONUS = 1.2
MAX_PHRASE_CHARS = 8
# IDF above this = seen in at most a couple of the corpus' documents (or never).
RARE_IDF = 8.0


# Function words, filler and board boilerplate that say nothing about a post's subject.
STOP_WORDS = frozenset(
    """
    问题 情况 领导 你好 您好 谢谢 感谢 请问 希望 没有 现在 可以 这个 那个 一个 我们 他们 你们 已经
    还是 就是 因为 所以 但是 如果 什么 怎么 为什么 这样 那么 这些 那些 自己 大家 目前 相关 有关 部门
    进行 要求 反映 由于 以及 或者 而且 并且 然后 其中 之后 以后 之前 以前 时候 一直 不是 还有 只是
    只有 能够 应该 需要 不能 不会 可能 这里 那里 里面 出来 起来 一下 一些 为了 对于 关于 通过 如何
    是否 何时 尊敬 您们 政府 市长 书记 同志 区长 县长 镇长 乡长 省长 本人 我家 小区 工作 时间 今天 每天 很多 非常 严重 一次
    多次 一年 年来 左右 之间 以上 以下 至今 上述 所有 任何 其他 别人
    此处 那种 这种 后来 真的 一般 这么 要么 哪样 到底 其实 当然 确实 根本 简直 终于 难道 居然 竟然
    到处 经常 偶尔 总是 一点 有点 有些 之类 等等 方面 地方 东西 事情 事儿 样子 一样 原因 结果 办法
    人员 有人 大量 当时 当地 本地 附近 周边 旁边 对面 以来 近日 近期 最近 日前 去年 今年 明年 每年
    上午 下午 晚上 早上 半夜 凌晨 昨天 明天 老百姓 百姓 群众 市民 网友 居民 业主 相关部门 有关部门
    完成 到位 选择 设置 建议 咨询 解答 办理 投诉 举报 请求 呼吁 解决 处理 回复 答复 表示 发现 导致
    造成 存在 出现 发生 实施 加强 落实 知道 觉得 认为 看到 听说 告诉 说明 了解 得到 使用 开始 继续
    成为 作为 属于 包括 根据 按照 涉及 采取 给予 予以 给予 帮助 支持 关注 重视 考虑 协调 回应
    才能 定位 当官 职业 大好事 道理 答案 区别 行径 规律 阶段 生活 个人 身体 能力 分子 规定 相应 事宜 笑话 无人 我村 有何 纯属 最晚
    点多 如图 往西 往东 往南 往北 东南 西南 东北 西北 一带 地带 位置 部分 过程 方式 行为 措施 条件 标准
    西地省 西地 省市 市区 县城 市里 县里 区里 该区 该县 该市 本市 本县 我市 我县 我区
    """.split()  # noqa: SIM905 (one word list, easier to read and extend)
)


def _read_idf(path: Path) -> tuple[dict[str, float], float]:
    """The IDF table at ``path`` (word -> IDF) and the value of an unseen word."""
    if not path.exists():
        return {}, 10.0
    with np.load(path, allow_pickle=False) as z:
        words = str(z["words"]).split("\n")
        return dict(zip(words, z["idf"].astype(float).tolist(), strict=True)), float(z["unseen"])


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    return _read_idf(IDF_PATH)


def learn_idf(documents: list[list[str]], path: Path = IDF_PATH, min_df: int = 2) -> int:
    """Smoothed IDF (as scikit-learn's) over token lists; words in fewer than ``min_df`` documents
    are left out and get the unseen value."""
    df: Counter[str] = Counter()
    for tokens in documents:
        df.update(set(tokens))
    n = len(documents)
    words = sorted(w for w, c in df.items() if c >= min_df)
    idf = np.array([np.log((1 + n) / (1 + df[w])) + 1 for w in words], np.float16)
    unseen = float(np.log((1 + n) / 2) + 1)
    np.savez_compressed(path, words=np.array("\n".join(words)), idf=idf, unseen=np.array(unseen))
    _idf.cache_clear()
    store_once_ok(path)
    return len(words)


def learn_generic(documents: list[tuple[str, list[str]]], min_df: int = 20, max_kl: float = 0.06) -> list[str]:
    """Words that say nothing about what a post is about, learnt from labelled posts (topic,
    tokens): seen in at least ``min_df`` posts and spread over the topics like the posts
    themselves (Kullback-Leibler divergence of P(topic | word) from P(topic) below ``max_kl``:
    单位, 现象, 感觉, 建设, 管理 …; 工资 is 0.9, 噪音 1.2, 拆迁 0.14)."""
    prior: Counter[str] = Counter(t for t, _ in documents)
    n = len(documents)
    df: Counter[str] = Counter()
    by_topic: dict[str, Counter[str]] = {}
    for topic, tokens in documents:
        for w in set(tokens):
            df[w] += 1
            by_topic.setdefault(w, Counter())[topic] += 1
    out = []
    for w, d in df.items():
        if d < min_df or len(w) < 2:
            continue
        kl = 0.0
        for t, c in prior.items():
            q = c / n
            p = (by_topic[w][t] + q) / (d + 1)
            kl += p * float(np.log(p / q))
        if kl < max_kl:
            out.append(w)
    return sorted(out)


@lru_cache(maxsize=1)
def generic_words() -> frozenset[str]:
    """The learnt generic words (``processors/keywords_generic.txt``, one a line)."""
    if not GENERIC_PATH.exists():
        return frozenset()
    return frozenset(w for w in GENERIC_PATH.read_text(encoding="utf-8").split() if w)


_GENERIC: frozenset[str] = frozenset()


def _load_generic() -> frozenset[str]:
    global _GENERIC
    _GENERIC = generic_words()
    return _GENERIC


@lru_cache(maxsize=131_072)
def pos(word: str) -> str:
    """The dictionary's part of speech of ``word``; ``x`` for a word the dictionary does not
    have (a guess of the tokeniser's HMM: a new name, or characters glued by mistake)."""
    if not has_word(word):
        return "x"
    tagged = _jieba().tag(word, False)
    return str(tagged[0][1]) if len(tagged) == 1 else "x"


SEP = "\x00"
_JOIN_NEXT = "\x01"
_ENDS = "".join(sorted(PLACE_END))
# On the tokens joined by SEP, with SEP at both ends (every pattern starts at a SEP, so it is
# tried once per token and the scan stays in C):
# step 1: a code (a, a7, k11: the publishers' anonymised places, lower-cased) and a token that
# starts with an administrative character (and 西地, the province's code: 西地 + 省峰天 + 测绘);
# group 3: the next token when it is a single character (区长 + 郡: the name is 长郡);
_GLUE = re.compile("\x00([a-z]{1,2}\\d{0,3}|西地)\x00([省市县区镇乡村][^\x00]*)(?:\x00([^\x00])(?=\x00))?")
# step 2: a token and a single place character (木莲 + 路), or a single character and a place
# name (船 + 山西路).
_SUFFIX = re.compile(f"\x00([{_ENDS}])(?=\x00)")  # the token before is found in _join_suffix
_PREFIX = re.compile(f"\x00([^\x00])\x00([^\x00]{{2,}}[{_ENDS}])(?=\x00)")
_PREFIX_TAGS = NOUN_TAGS | {"x", "ng", "a"}


_Info = tuple[float, bool, bool, bool]


def _unglue(m: re.Match[str]) -> str:
    code, glued, single = m.group(1), m.group(2), m.group(3) or ""
    rest = glued.lstrip("省市县区镇乡村")
    if len(rest) >= 2:
        return f"{SEP}{code}{SEP}{rest}" + (SEP + single if single else "")  # 市金茂府 → 金茂府
    if len(rest) == 1:
        if single:
            return f"{SEP}{code}{SEP}{rest}{single}"  # 区长 + 郡 → 长郡
        if not has_word(glued):
            return f"{SEP}{code}{SEP}{rest}{_JOIN_NEXT}"  # 县龙 + 盛村 → 龙盛村
        return SEP + code  # 市政, 市区: the code's 市 + an ordinary word, dropped
    if single and _CJK.match(single) and pos(single) in _PREFIX_TAGS:
        return f"{SEP}{code}{SEP}{single}{_JOIN_NEXT}"  # 县 + 巫 + 水河 → 巫水河
    return SEP + code + (SEP + single if single else "")  # 县, 县市: dropped


def _join_suffix(m: re.Match[str]) -> str:
    # Scanning for the lone place character and looking back costs a third of matching
    # "any token, then a place character" at every token.
    at = m.start()
    prev = m.string[m.string.rfind(SEP, 0, at) + 1 : at]
    if prev and len(prev) < MAX_PHRASE_CHARS and _CJK.match(prev) and prev not in STOP_WORDS and pos(prev) not in FUNCTION_TAGS:
        return m.group(1)  # the separator goes: 木莲 + 路 → 木莲路
    return m.group(0)


def _join_prefix(m: re.Match[str]) -> str:
    first, name = m.group(1), m.group(2)
    if _CJK.match(first) and pos(first) in _PREFIX_TAGS and pos(name) in NAME_TAGS:
        return SEP + first + name
    return m.group(0)


def _units(tokens: list[str]) -> str:
    """Steps 1 and 2 on the tokens, returned joined by ``SEP`` with ``SEP`` at both ends (the
    tokeniser drops control characters, so neither SEP nor _JOIN_NEXT occurs in a token)."""
    s = _GLUE.sub(_unglue, f"{SEP}{SEP.join(tokens)}{SEP}")
    if _JOIN_NEXT in s:
        s = s.replace(_JOIN_NEXT + SEP, "").replace(_JOIN_NEXT, "")
        s = s if s.endswith(SEP) else s + SEP
    s = _SUFFIX.sub(_join_suffix, s)
    return _PREFIX.sub(_join_prefix, s)


def _as_in_title(title: list[str], body: str) -> str:
    """A name the title has whole (after steps 1 and 2: ``L6县巫水河`` → ``巫水河``) and the body
    in two tokens (``巫`` + ``水河``) is joined in the body too."""
    for w in title:
        if len(w) < 3 or has_word(w) or not _CJK.match(w):
            continue
        for i in range(1, len(w)):
            pair = f"{SEP}{w[:i]}{SEP}{w[i:]}{SEP}"
            if pair in body:
                body = body.replace(pair, f"{SEP}{w}{SEP}").replace(pair, f"{SEP}{w}{SEP}")
    return body


def _joinable(units: list[str], starters: set[str]) -> Counter[tuple[str, str]]:
    """Step 3: adjacent words seen together at least twice in the post that make a name: the
    first a proper noun or a word the dictionary lacks (``海伦`` + ``春天``, ``朝正`` + ``美苑``,
    ``福州`` + ``水务``), or a noun before a two-character place (``打铁`` + ``港河``); never past a
    complete place name (``北园路`` + ``路面`` stays apart). ``starters``: the words seen at least
    twice that may begin a phrase. Returns the pairs with their number of occurrences."""
    last = len(units) - 1
    at = compress(range(last), map(starters.__contains__, units))  # starters' positions, found in C
    pairs = Counter([(units[i], units[i + 1]) for i in at])
    join: Counter[tuple[str, str]] = Counter()
    used: set[str] = set()
    for (a, b), c in pairs.most_common():
        if c < 2:
            break
        if a in used or b in used or len(a) + len(b) > MAX_PHRASE_CHARS or len(b) < 2 or b in STOP_WORDS or not _CJK.match(b):
            continue
        tb = pos(b)
        if tb in FUNCTION_TAGS or tb in VERB_TAGS:
            continue
        if pos(a) in NAME_TAGS or (len(b) == 2 and b[-1] in PLACE_END):
            join[a, b] = c
            used.update((a, b))
    return join


def _weight(word: str) -> float:
    """The part-of-speech weight of ``word`` as a keyword: 1 for a noun or name (or a Latin term),
    ``UNKNOWN_WEIGHT`` for a word the dictionary lacks, ``VERB_WEIGHT`` for a verb, 0 for a word
    that is never a keyword."""
    if word in STOP_WORDS or word in (_GENERIC or _load_generic()) or "西地" in word:
        return 0.0  # 西地: the anonymised province glued to something (住西地省)
    if not _CJK.search(word):
        return 1.0 if word in LATIN_TERMS else 0.0
    if _DIGIT.search(word) or len(word) < 2:
        return 0.0
    tag = pos(word)
    return 1.0 if tag in NOUN_TAGS else UNKNOWN_WEIGHT if tag == "x" else VERB_WEIGHT if tag in VERB_TAGS else 0.0


def _static(word: str) -> _Info | None:
    """(IDF × part-of-speech weight, whether one mention outside the title is enough, whether it
    may begin a phrase, whether the dictionary lacks it), or None for a word that is never a
    keyword."""
    w = _weight(word)
    if not w:
        return None
    idf, unseen = _idf()
    v = idf.get(word)
    # A rarity, a verb or a guessed word said once in passing is not what the post is about.
    once_ok = v is not None and v < RARE_IDF and w == 1.0
    starts = _CJK.match(word) is not None and word[-1] not in PLACE_END and len(word) < MAX_PHRASE_CHARS - 1
    return (unseen if v is None else v) * w, once_ok, starts, w == UNKNOWN_WEIGHT


def _once_ok_words(table: dict[str, float]) -> list[str]:
    """The words of an IDF table one mention outside the title is enough for (``_static``'s second
    field): its common nouns."""
    return [word for word, v in table.items() if v < RARE_IDF and _weight(word) == 1.0]


_cache: dict[str, _Info] = {}
_BAD: _Info = (0.0, False, False, False)  # cached for a word that is never a keyword
CACHE_MAX = 200_000


def _score(word: str, c: int, info: _Info, in_title: set[str]) -> float:
    """The keyword score of ``word`` seen ``c`` times, 0 if it does not qualify (as in the loop of
    ``keywords``, which inlines it)."""
    if info is _BAD or c <= 0:
        return 0.0
    if word in in_title:
        return c * info[0] * TITLE_BONUS if c > 1 or not info[3] else 0.0
    return c * info[0] if c > 1 or info[1] else 0.0


@lru_cache(maxsize=1)
def _once_ok() -> frozenset[str]:
    """The words one mention outside the title is enough for (``_static``'s second field): the
    common nouns of the IDF table. ``keywords`` looks at a word said once outside the title only
    if it is one of these, found for a whole post by one set intersection instead of a look-up
    per word. Read from the table's file, where ``yuqing train`` stores them (``store_once_ok``:
    computing them looks at ~13,000 words, ~40 ms of every start); computed here from a file
    without them."""
    table = _idf()[0]
    flags = _stored_once_ok(len(table))
    return frozenset(_once_ok_words(table) if flags is None else compress(table, flags.tolist()))


ONCE_OK = "once_ok"  # the IDF file's array of flags, one per word, in the order of ``words``


def _stored_once_ok(n: int) -> np.ndarray | None:
    """The flags stored in the IDF file, None if it has none (an older file) or none for ``n`` words."""
    if not IDF_PATH.exists():
        return None
    with np.load(IDF_PATH, allow_pickle=False) as z:
        if ONCE_OK not in z.files:
            return None
        flags = z[ONCE_OK]
    return flags if flags.dtype == np.bool_ and flags.shape == (n,) else None


def once_ok_flags(path: Path = IDF_PATH) -> np.ndarray:
    """One flag per word of the IDF file at ``path`` (in the order of its ``words``): whether one
    mention outside the title is enough for it, with today's stop lists, generic words (as the
    file is now: ``scripts/keywords_read.py generic`` may have just rewritten it) and dictionary."""
    generic_words.cache_clear()
    _load_generic()
    _cache.clear()  # infos made with the generic words before
    table = _read_idf(path)[0]
    ok = set(_once_ok_words(table))
    return np.fromiter(map(ok.__contains__, table), np.bool_, len(table))


def store_once_ok(path: Path = IDF_PATH) -> int:
    """Store ``once_ok_flags`` in the IDF file at ``path`` (its other arrays unchanged), read by
    ``_once_ok`` at start-up. ``learn_idf`` does; run it again whenever what ``_static`` depends
    on changes without a new IDF table (the stop lists, the generic words, the dictionary):
    ``python scripts/keywords_read.py once-ok``. Returns the number of words flagged."""
    flags = once_ok_flags(path)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != ONCE_OK}
    np.savez_compressed(path, **arrays, **{ONCE_OK: flags})  # type: ignore[arg-type]
    _once_ok.cache_clear()
    return int(flags.sum())


def keywords(tokens: list[str], k: int = 8, title_tokens: int = 0) -> list[str]:
    """The post's ``k`` keywords, best first. ``tokens`` are the title's tokens followed by the
    body's; the first ``title_tokens`` of them are the title."""
    if k <= 0 or not tokens:
        return []
    title = _units(tokens[:title_tokens]) if title_tokens else SEP
    body = _units(tokens[title_tokens:])
    tu = title[1:-1].split(SEP) if title_tokens else []
    body = _as_in_title(tu, body)
    units = tu + body[1:-1].split(SEP)
    counts = Counter(units)
    in_title = set(tu)
    cache = _cache
    once_ok = _once_ok()
    if len(cache) > CACHE_MAX:
        cache.clear()
        _once_ok.cache_clear()
        once_ok = _once_ok()
    get = cache.get
    scores: dict[str, float] = {}
    starters: set[str] = set()
    # Most of a post's distinct words are said once outside the title, and such a word scores only
    # if one mention is enough for it (``_once_ok``): those are found by one set intersection,
    # the others need a look at each.
    words = {w for w, c in counts.items() if c > 1}
    words |= in_title
    words |= once_ok.intersection(counts)
    for word in words:
        c = counts[word]
        info = get(word)
        if info is None:
            info = cache[word] = _static(word) or _BAD
        if info is _BAD:
            continue
        if word in in_title:
            if c > 1 or not info[3]:
                scores[word] = c * info[0] * TITLE_BONUS
        elif c > 1 or info[1]:
            scores[word] = c * info[0]
        if c > 1 and info[2]:
            starters.add(word)
    if starters:
        phrase = _idf()[1] * PHRASE_BONUS
        for (a, b), c in _joinable(units, starters).items():
            for w in (a, b):
                counts[w] -= c
                scores[w] = _score(w, counts[w], cache[w], in_title)
            if f"{SEP}{a}{SEP}{b}{SEP}" in title:
                in_title.add(a + b)
                scores[a + b] = c * phrase * TITLE_BONUS
            else:
                scores[a + b] = c * phrase
    chosen: list[str] = []
    # Ties are broken by the word, so the answer does not depend on the order of the tokens.
    best = sorted([(-v, w) for w, v in scores.items() if v > 0])[: 4 * k]  # = heapq.nsmallest, in C
    floor = best[0][0] * MIN_RELATIVE if best else 0.0
    for score, word in best:
        if score > floor and len(chosen) >= MIN_KEYWORDS:
            break
        if any(word in c or c in word for c in chosen):
            continue
        chosen.append(word)
        if len(chosen) == k:
            break
    return chosen
