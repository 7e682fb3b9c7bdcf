"""Classify posts: one tokenisation, then topic, sentiment, keywords, region, event and risk.

``Classifier.classify`` does no I/O of its own. Posts about the same incident share an
``event_id``: the event clusterer looks earlier posts up through an index, the store in the
processing stage (``processors.worker.StoreIndex``, so workers share nothing in memory) or, by
default, a bounded index in memory (``yuqing classify``, tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from processors.clustering import EventClusterer, EventIndex, Incoming, Member, fingerprint
from processors.config import ProcessorsConfig
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
        self,
        config: ProcessorsConfig = ProcessorsConfig(),
        gazetteer: Gazetteer | None = None,
        models: Models | None = None,
        index: EventIndex | None = None,
    ) -> None:
        self.config = config
        self.gazetteer = gazetteer or Gazetteer.load(config.gazetteer)
        self.models = models or Models.load()
        self.events = EventClusterer(index, timedelta(hours=config.event_window_hours))

    def analyse(self, title: str, content: str, source_id: str | None = None) -> Analysis:
        """Everything that depends on the text alone (and, for the region, on whether the source
        is one of the county's own: ``config.county_sources``)."""
        return self.analyse_many([(title, content, source_id)])[0]

    def analyse_many(self, posts: Sequence[tuple[str, str, str | None]]) -> list[Analysis]:
        """``analyse`` for each (title, content, source id); the models score the batch at once."""
        toks = [(tokenize(t) if t else [], tokenize(c) if c else []) for t, c, _ in posts]
        preds = self.models.predict_many([(t, c, tt, bt) for (t, c, _), (tt, bt) in zip(posts, toks, strict=True)])
        out = []
        for (title, content, source_id), (title_tokens, body_tokens), pred in zip(posts, toks, preds, strict=True):
            tokens = title_tokens + body_tokens
            out.append(
                Analysis(
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
            )
        return out

    def classify(self, post: PostCollected) -> PostClassified:
        return self.classify_many([post])[0]

    def classify_many(self, posts: Iterable[PostCollected]) -> list[PostClassified]:
        """Classify a batch: one event lookup for the whole batch."""
        batch = list(posts)
        analyses = self.analyse_many([(p.title, p.content, p.source.id) for p in batch])
        events = self.events.assign_many([Incoming(p.id, p.title, p.content, p.published_at, p.source.id) for p in batch])
        out = []
        for post, a, event in zip(batch, analyses, events, strict=True):
            stats = event.stats
            ctx = EventContext(size=stats.size, recent=stats.recent(post.published_at), sources=stats.sources)
            risk = assess(a.topic, a.sentiment, a.negativity, a.tokens, ctx, text=f"{post.title}\n{post.content}")
            out.append(
                PostClassified.from_collected(
                    post,
                    tokens=a.tokens,
                    keywords=a.keywords,
                    topic=a.topic,
                    topic_confidence=a.topic_confidence,
                    sentiment=a.sentiment,
                    sentiment_score=a.negativity,
                    risk=risk,
                    event_id=event.event_id,
                    event_keys=list(event.keys),
                    region=a.region,
                )
            )
        return out

    def warm_up(self, recent: Iterable[PostClassified]) -> int:
        """Teach an in-memory event index posts classified before (e.g. by an earlier process),
        with their event ids. The store-backed index needs no warm-up: it reads the store."""
        members = []
        for p in recent:
            keys = p.event_keys or list(fingerprint(p.title, p.content).keys)
            members.append((Member(p.id, p.event_id, p.published_at, p.source.id, p.title, p.content), keys))
        self.events.index.remember(members)
        return len(members)
