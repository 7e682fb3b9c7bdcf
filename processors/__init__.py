"""Processors: topic, sentiment, risk, events, region and keywords for each post.

Pure functions over one tokenisation (``yuqing.text.tokenize``); ``processors.worker`` only
moves data between the bus and the store.
"""
