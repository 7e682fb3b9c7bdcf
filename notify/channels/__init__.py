"""One module per channel, found by the registry (``notify.registry.NOTIFIERS``)."""
