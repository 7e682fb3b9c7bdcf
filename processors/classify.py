"""Classify posts: one tokenisation, then topic, sentiment, keywords, region, event and risk.

``Classifier.classify`` does no I/O. It keeps one piece of state, the event clusterer's recent
fingerprints, so that posts about the same incident share an ``event_id``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from processors.config import ProcessorsConfig
from processors.events import EventClusterer
from processors.gazetteer import Gazetteer
from processors.keywords import keywords
from processors.models import Models
from processors.risk import EventContext, assess
from yuqing.events import PostClassified, PostCollected
from yuqing.text import tokenize


@dataclass(frozen=True)
class Analysis:
    tokens: list[str]
    topic: str
    topic_confidence: float
    sentiment: str
    negativity: float
    keywords: list[str]
    region: str | None


class Classifier:
    def __init__(
        self, config: ProcessorsConfig = ProcessorsConfig(), gazetteer: Gazetteer | None = None, models: Models | None = None
    ) -> None:
        self.config = config
        self.gazetteer = gazetteer or Gazetteer.load(config.gazetteer)
        self.models = models or Models.load()
        self.events = EventClusterer(timedelta(hours=config.event_window_hours), config.event_max_distance)

    def analyse(self, title: str, content: str, source_id: str | None = None) -> Analysis:
        """Everything that depends on the text alone (and, for the region, on whether the source
        is one of the county's own: ``config.county_sources``)."""
        title_tokens = tokenize(title) if title else []
        body_tokens = tokenize(content) if content else []
        tokens = title_tokens + body_tokens
        pred = self.models.predict(title, content, title_tokens, body_tokens)
        return Analysis(
            tokens=tokens,
            topic=pred.topic,
            topic_confidence=round(pred.topic_confidence, 4),
            sentiment=pred.sentiment,
            negativity=round(pred.negativity, 4),
            keywords=keywords(tokens, self.config.keywords, len(title_tokens)),
            region=self.gazetteer.locate(
                title,
                content,
                title_tokens=title_tokens,
                body_tokens=body_tokens,
                county_source=source_id in self.config.county_sources,
            ),
        )

    def classify(self, post: PostCollected) -> PostClassified:
        a = self.analyse(post.title, post.content, post.source.id)
        event = self.events.assign(post.id, a.tokens, post.published_at, post.source.id)
        ctx = EventContext(size=event.size, recent=event.recent(post.published_at), sources=event.sources)
        risk = assess(a.topic, a.sentiment, a.negativity, a.tokens, ctx, text=f"{post.title}\n{post.content}")
        return PostClassified.from_collected(
            post,
            tokens=a.tokens,
            keywords=a.keywords,
            topic=a.topic,
            topic_confidence=a.topic_confidence,
            sentiment=a.sentiment,
            sentiment_score=a.negativity,
            risk=risk,
            event_id=event.event_id,
            region=a.region,
        )

    def classify_many(self, posts: Iterable[PostCollected]) -> list[PostClassified]:
        return [self.classify(p) for p in posts]

    def warm_up(self, recent: Iterable[PostClassified]) -> int:
        """Re-learn recent events from the store after a restart, oldest first, so that new
        posts join the events they belong to instead of starting new ones."""
        n = 0
        for p in sorted(recent, key=lambda p: p.published_at):
            self.events.assign(p.id, p.tokens, p.published_at, p.source.id, event_id=p.event_id)
            n += 1
        return n
