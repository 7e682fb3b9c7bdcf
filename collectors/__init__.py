"""Collectors: every channel a county watches, turned into ``post.collected`` events on ``posts.raw``.

One module per source kind behind a registry (``collectors.registry``); the scheduling and
de-duplication shared by all of them lives in ``collectors.service``.
"""
