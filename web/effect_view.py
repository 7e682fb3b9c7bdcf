"""The 回应效果 section of the case and alert pages (``ledger.effect``): the verdict on a case's
event after its response, read from the store the web app was given."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.effect import Effect, EffectConfig, case_effect
from yuqing.errors import BackendError

log = logging.getLogger("ledger")


@dataclass(frozen=True)
class EffectView:
    case: Any
    effect: Effect | None  # None: nothing to judge yet (see ``why``)
    why: str = ""


def effect_view(case: Any, store: Any, now: datetime, config: EffectConfig) -> EffectView:
    if not case.event_id:
        return EffectView(case, None, "案件未关联舆情事件，无法跟踪回应效果")
    if store is None:
        return EffectView(case, None, "未配置帖子库，无法跟踪回应效果")
    try:
        effect = case_effect(case, store, now, config)
    except BackendError as exc:
        log.warning("ledger: effect of case %s: the store did not answer: %s", case.id, exc)
        return EffectView(case, None, "帖子库暂时无法读取，稍后刷新重试")
    if effect is None:
        return EffectView(case, None, "尚未回复或公开，回复或公开后开始跟踪回应效果")
    return EffectView(case, effect)
