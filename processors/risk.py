"""Risk score 0-100 and level 低/中/高/重大, with every point explained in ``reasons``."""

from __future__ import annotations

from yuqing.events import Risk

TOPIC_BASE = {
    "安全生产": 25,
    "工资拖欠": 20,
    "食品药品安全": 20,
    "环境污染和生态破坏": 15,
    "房地产金融": 15,
    "困难群众生活": 15,
    "教育医疗养老": 10,
    "其他": 0,
}

DANGER: dict[str, tuple[int, str]] = {
    "伤亡": (25, "伤亡"), "死亡": (25, "伤亡"), "身亡": (25, "伤亡"), "遇难": (25, "伤亡"), "受伤": (15, "伤亡"),
    "爆炸": (25, "爆炸"), "中毒": (20, "中毒"), "跳楼": (25, "极端行为"), "自杀": (25, "极端行为"), "轻生": (20, "极端行为"),
    "群体": (15, "群体性"), "群体性": (20, "群体性"), "聚集": (15, "聚集"), "堵路": (20, "堵路"), "上访": (10, "上访"),
    "集体": (10, "群体性"), "围堵": (15, "堵路"), "维权": (5, "维权"), "媒体": (5, "媒体关注"), "曝光": (5, "媒体关注"),
}

LEVELS = ((75, "重大"), (50, "高"), (25, "中"), (0, "低"))


def level_of(score: int) -> str:
    return next(name for threshold, name in LEVELS if score >= threshold)


def assess(topic: str, sentiment: str, negativity: float, tokens: list[str], event_size: int = 1) -> Risk:
    reasons: list[str] = []
    score = 0
    base = TOPIC_BASE.get(topic, 0)
    if base:
        score += base
        reasons.append(f"重点领域「{topic}」+{base}")
    if sentiment == "negative":
        pts = 10 + round(10 * max(0.0, negativity - 0.5) * 2)
        score += pts
        reasons.append(f"负面情绪（强度 {negativity:.2f}）+{pts}")
    seen: set[str] = set()
    present = set(tokens)
    danger_pts = 0
    for word, (pts, label) in DANGER.items():
        if word in present and label not in seen:
            seen.add(label)
            danger_pts += pts
            reasons.append(f"含「{word}」（{label}）+{pts}")
    score += min(danger_pts, 40)
    if topic == "工资拖欠" and ({"农民工", "工人", "集体", "群体"} & present) and ({"讨薪", "欠薪", "拖欠"} & present):
        score += 10
        reasons.append("涉及群体性讨薪 +10")
    if event_size > 1:
        pts = min(20, 4 * (event_size - 1))
        score += pts
        reasons.append(f"同一事件 {event_size} 帖 +{pts}")
    score = max(0, min(100, score))
    return Risk(score=score, level=level_of(score), reasons=reasons)  # type: ignore[arg-type]
