"""Notifications, shared by the alert engine, the ledger's reminders and the briefings.

    base.py      the ``Notifier`` interface, ``Notification``, ``NotifierConfig``
    registry.py  channels by short name (or a dotted path): parse_notifier_config, make_notifier
    channels/    one module per channel: dingtalk, wecom, feishu, email, webhook, inbox (站内信)
    config.py    ``RetryConfig``: attempts and backoff of a delivery
    db.py        the delivery, attempt and inbox tables (``alert_deliveries``, ``alert_attempts``,
                 ``alert_inbox``: the names they always had)
    store.py     ``DeliveryStore``: pending deliveries and their attempts, durable
    delivery.py  ``Deliverer``: one attempt at a time, retries with exponential backoff;
                 ``ClaimingDeliverer`` for senders that run in several processes

It knows nothing about rules or cases: a ``Notification`` is a rendered message.
"""
