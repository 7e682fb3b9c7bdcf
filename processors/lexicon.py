"""A first, lexicon-based topic and sentiment classifier over tokens.

Used until trained models exist (``yuqing train``) and as the fallback when model files are
missing. It scores each topic by the distinctive words in the title (double weight) and body.
"""

from __future__ import annotations

TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "房地产金融": (
        "开发商",
        "烂尾",
        "烂尾楼",
        "房产证",
        "不动产证",
        "购房",
        "楼盘",
        "交房",
        "商品房",
        "限购",
        "公积金",
        "贷款",
        "停贷",
        "非法集资",
        "集资",
        "理财",
        "p2p",
        "银行",
        "房贷",
        "按揭",
        "套路贷",
    ),
    "工资拖欠": ("欠薪", "讨薪", "拖欠", "工资", "农民工", "劳务费", "工钱", "薪资", "欠款"),
    "环境污染和生态破坏": (
        "污染",
        "排污",
        "偷排",
        "臭味",
        "恶臭",
        "黑臭",
        "噪音",
        "噪声",
        "扰民",
        "粉尘",
        "废气",
        "废水",
        "垃圾",
        "焚烧",
        "河道",
        "水质",
        "采砂",
        "砍伐",
        "生态",
        "环保",
        "异味",
        "扬尘",
    ),
    "食品药品安全": ("食品", "药品", "过期", "变质", "地沟油", "假药", "药店", "食物中毒", "保健品", "餐馆", "饭店", "食堂", "卫生许可"),
    "教育医疗养老": (
        "学校",
        "学生",
        "教师",
        "老师",
        "幼儿园",
        "入学",
        "学位",
        "学区",
        "医院",
        "医生",
        "医保",
        "看病",
        "养老",
        "养老金",
        "养老院",
        "退休",
        "新农合",
        "教育局",
        "补课",
    ),
    "安全生产": ("安全隐患", "事故", "爆炸", "消防", "火灾", "危化品", "燃气", "煤气", "电梯", "矿山", "坍塌", "危房", "消防通道"),
    "困难群众生活": ("低保", "特困", "五保户", "救助", "残疾", "残疾人", "贫困", "扶贫", "困难户", "廉租房", "公租房", "孤寡"),
}
_INDEX = {w: topic for topic, words in TOPIC_WORDS.items() for w in words}

NEGATIVE = frozenset(
    [
        "投诉",
        "举报",
        "反映",
        "严重",
        "污染",
        "拖欠",
        "欠薪",
        "讨薪",
        "扰民",
        "不满",
        "为什么",
        "违法",
        "违规",
        "无人",
        "不管",
        "至今",
        "多次",
        "恶臭",
        "噪音",
        "隐患",
        "损害",
        "坑害",
        "欺骗",
        "诈骗",
        "强行",
        "乱收费",
        "推诿",
        "敷衍",
        "不作为",
        "迟迟",
        "无果",
        "受害",
        "损失",
        "问题",
        "影响",
        "困扰",
    ]
)
POSITIVE = frozenset(["感谢", "谢谢", "点赞", "表扬", "赞扬", "满意", "致谢", "称赞", "锦旗", "辛苦", "负责", "热心"])


def topic_scores(title_tokens: list[str], body_tokens: list[str]) -> dict[str, float]:
    scores: dict[str, float] = {}
    for weight, tokens in ((2.0, title_tokens), (1.0, body_tokens)):
        for t in set(tokens):
            topic = _INDEX.get(t)
            if topic:
                scores[topic] = scores.get(topic, 0.0) + weight
    return scores


def lexicon_topic(title_tokens: list[str], body_tokens: list[str]) -> tuple[str, float]:
    scores = topic_scores(title_tokens, body_tokens)
    if not scores:
        return "其他", 0.5
    topic, best = max(scores.items(), key=lambda kv: (kv[1], kv[0]))
    if best < 3.0:
        return "其他", 0.5
    return topic, min(1.0, best / 8.0)


def lexicon_sentiment(tokens: list[str]) -> tuple[str, float]:
    neg = sum(1 for t in tokens if t in NEGATIVE)
    pos = sum(1 for t in tokens if t in POSITIVE)
    if pos > neg and pos >= 2:
        return "positive", 0.2
    if neg >= 2:
        return "negative", min(1.0, 0.5 + neg / 10)
    return "neutral", 0.4
