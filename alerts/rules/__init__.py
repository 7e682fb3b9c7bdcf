"""Rule types, one module each, behind ``alerts.rules.registry``.

A rule is pure: it observes classified posts (and, for time-based rules, the clock) and returns
``Hit``/``Clear`` values. Its only state is its windows, which the engine persists.
"""
