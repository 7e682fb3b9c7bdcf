"""Notifiers: one module per channel behind a registry (``alerts.notifiers.registry``)."""
