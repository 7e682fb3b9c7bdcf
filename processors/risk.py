"""Risk score 0-100 and level 低/中/高/重大, with every point explained in ``reasons``.

Points come from: the topic (the work plan's key areas), negative sentiment and its strength,
danger words (casualties, explosions, poisoning, extreme acts, collective action), collective
wage claims, and the event's volume, growth (posts in the last 2 hours) and spread (sources).
The reasons add up to the score exactly (before the cap at 100, which is said when applied).
"""

from __future__ import annotations

from dataclasses import dataclass

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

# word -> (points, category); one category counts once.
DANGER: dict[str, tuple[int, str]] = {
    "伤亡": (25, "伤亡"),
    "死亡": (25, "伤亡"),
    "身亡": (25, "伤亡"),
    "遇难": (25, "伤亡"),
    "死了": (25, "伤亡"),
    "受伤": (15, "伤亡"),
    "爆炸": (25, "爆炸"),
    "起火": (15, "火灾"),
    "火灾": (15, "火灾"),
    "坍塌": (20, "坍塌"),
    "倒塌": (20, "坍塌"),
    "中毒": (20, "中毒"),
    "跳楼": (25, "极端行为"),
    "自杀": (25, "极端行为"),
    "轻生": (20, "极端行为"),
    "自焚": (25, "极端行为"),
    "群体": (15, "群体性"),
    "群体性": (20, "群体性"),
    "集体": (10, "群体性"),
    "聚集": (15, "聚集"),
    "拉横幅": (15, "聚集"),
    "堵路": (20, "堵路"),
    "围堵": (15, "堵路"),
    "上访": (10, "上访"),
    "信访": (5, "上访"),
    "媒体": (5, "媒体关注"),
    "曝光": (5, "媒体关注"),
    "记者": (5, "媒体关注"),
}
DANGER_CAP = 40

LEVELS = ((75, "重大"), (50, "高"), (25, "中"), (0, "低"))


@dataclass(frozen=True)
class EventContext:
    size: int = 1  # posts in the event so far
    recent: int = 1  # posts in the last 2 hours
    sources: int = 1  # distinct sources


def level_of(score: int) -> str:
    return next(name for threshold, name in LEVELS if score >= threshold)


def assess(topic: str, sentiment: str, negativity: float, tokens: list[str], event: EventContext = EventContext()) -> Risk:
    reasons: list[str] = []
    score = 0

    def add(points: int, reason: str) -> None:
        nonlocal score
        if points:
            score += points
            reasons.append(f"{reason} +{points}")

    add(TOPIC_BASE.get(topic, 0), f"重点领域「{topic}」")
    if sentiment == "negative":
        add(10 + round(20 * max(0.0, negativity - 0.5)), f"负面情绪（强度 {negativity:.2f}）")
    present = set(tokens)
    seen: set[str] = set()
    danger = 0
    for word, (pts, label) in DANGER.items():
        if word in present and label not in seen and danger < DANGER_CAP:
            seen.add(label)
            pts = min(pts, DANGER_CAP - danger)
            danger += pts
            add(pts, f"{'负面且' if sentiment == 'negative' else ''}含「{word}」（{label}）")
    if (
        topic == "工资拖欠"
        and ({"农民工", "工人", "民工", "集体", "群体", "工友"} & present)
        and ({"讨薪", "欠薪", "拖欠", "讨要"} & present)
    ):
        add(10, "涉及群体性讨薪")
    if event.recent >= 3:
        add(min(20, 2 * event.recent), f"同一事件 2 小时内 {event.recent} 帖")
    elif event.size > 1:
        add(min(10, 2 * (event.size - 1)), f"同一事件累计 {event.size} 帖")
    if event.sources > 1:
        add(min(10, 5 * (event.sources - 1)), f"{event.sources} 个来源同时出现")
    if score > 100:
        reasons.append(f"封顶 100（原始 {score}）")
        score = 100
    return Risk(score=score, level=level_of(score), reasons=reasons)  # type: ignore[arg-type]
