"""Keywords per post: TF-IDF over the post's tokens, computed from the one tokenisation
(``jieba.analyse.extract_tags`` would segment again).

The IDF table is learnt from our own corpus of citizen posts (``yuqing train`` writes
``models/keywords_idf.npz``, ~30k words): it suits the domain better than jieba's general one
and takes a few MB of memory instead of ~190 MB. Words the table has not seen get the highest
IDF; function words (``STOP_WORDS``) are dropped, as are digits and short Latin/digit codes
(``a3``, ``g8``: the anonymised place names of the source data).
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

IDF_PATH = Path(__file__).resolve().parent / "models" / "keywords_idf.npz"
_CODE = re.compile(r"[0-9a-z]{1,4}")


# Function words and board boilerplate that say nothing about a post's subject.
STOP_WORDS = frozenset(
    [
        "问题",
        "情况",
        "领导",
        "你好",
        "您好",
        "谢谢",
        "感谢",
        "请问",
        "希望",
        "没有",
        "现在",
        "可以",
        "这个",
        "那个",
        "一个",
        "我们",
        "他们",
        "你们",
        "已经",
        "还是",
        "就是",
        "因为",
        "所以",
        "但是",
        "如果",
        "什么",
        "怎么",
        "为什么",
        "这样",
        "那么",
        "这些",
        "那些",
        "自己",
        "大家",
        "目前",
        "相关",
        "有关",
        "部门",
        "进行",
        "要求",
        "反映",
        "由于",
        "以及",
        "或者",
        "而且",
        "并且",
        "然后",
        "其中",
        "之后",
        "以后",
        "之前",
        "以前",
        "时候",
        "一直",
        "不是",
        "还有",
        "只是",
        "只有",
        "能够",
        "应该",
        "需要",
        "不能",
        "不会",
        "可能",
        "这里",
        "那里",
        "里面",
        "出来",
        "起来",
        "一下",
        "一些",
        "为了",
        "对于",
        "关于",
        "通过",
        "如何",
        "是否",
        "何时",
        "尊敬",
        "您们",
        "政府",
        "市长",
        "书记",
        "同志",
        "本人",
        "我家",
        "小区",
        "工作",
        "时间",
        "今天",
        "每天",
        "很多",
        "非常",
        "严重",
        "一次",
        "多次",
        "一年",
        "年来",
        "左右",
        "之间",
        "以上",
        "以下",
        "至今",
        "上述",
        "所有",
        "任何",
        "其他",
        "别人",
    ]
)


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    if not IDF_PATH.exists():
        return {}, 10.0
    with np.load(IDF_PATH, allow_pickle=False) as z:
        words = str(z["words"]).split("\n")
        return dict(zip(words, z["idf"].astype(float).tolist(), strict=True)), float(z["unseen"])


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
    return len(words)


def keywords(tokens: list[str], k: int = 8) -> list[str]:
    if k <= 0:
        return []
    idf, unseen = _idf()
    stop = STOP_WORDS
    scored = [
        (-c * idf.get(t, unseen), t)
        for t, c in Counter(tokens).items()
        if len(t) >= 2 and t not in stop and not (t.isascii() and _CODE.fullmatch(t)) and not t.isdigit()
    ]
    return [t for _, t in heapq.nsmallest(k, scored)]
