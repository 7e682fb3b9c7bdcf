"""Channels by short name, or any ``package.module:Class`` / ``package.module.Class`` path.

    parse_notifier_config({"type": "dingtalk", "url": ..., "secret": ...}) -> DingTalkConfig
    make_notifier(config, context) -> DingTalkNotifier

The ledger uses the same two calls for its reminder channels.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from notify.base import Notifier, NotifierConfig, NotifierContext
from yuqing.plugins import import_path

NOTIFIERS: dict[str, str] = {
    "dingtalk": "notify.channels.dingtalk:DingTalkNotifier",
    "wecom": "notify.channels.wecom:WeComNotifier",
    "feishu": "notify.channels.feishu:FeishuNotifier",
    "email": "notify.channels.email:EmailNotifier",
    "webhook": "notify.channels.webhook:WebhookNotifier",
    "inbox": "notify.channels.inbox:InboxNotifier",
}


def notifier_class(type_name: str) -> type[Notifier]:
    if type_name not in NOTIFIERS and "." not in type_name:
        raise ValueError(f"unknown notifier type {type_name!r}; known: {', '.join(NOTIFIERS)} or a dotted path")
    try:
        cls = import_path(NOTIFIERS.get(type_name, type_name))
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load notifier type {type_name!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Notifier)):
        raise ValueError(f"{type_name!r} is not a Notifier subclass")
    return cls


def parse_notifier_config(raw: Any) -> NotifierConfig:
    """Validate one channel's settings; ValueError names the field (``url: Field required``)."""
    if isinstance(raw, NotifierConfig):
        return raw
    if not isinstance(raw, dict):
        raise ValueError("a notifier is a mapping with a type")
    type_name = raw.get("type")
    if not isinstance(type_name, str):
        raise ValueError("type: a notifier needs a type")
    cls = notifier_class(type_name)
    try:
        return cls.Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "type"
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        name = raw.get("name") or type_name
        raise ValueError(f"({name}) {loc}: {msg}") from None


def make_notifier(config: NotifierConfig | dict[str, Any], context: NotifierContext | None = None) -> Notifier:
    cfg = parse_notifier_config(config)
    return notifier_class(cfg.type)(cfg, context or NotifierContext())
