"""``python -m yuqing``: the application's command (``app.cli``); the one import of the core
that goes up, listed in the import contracts (``.importlinter``)."""

from app.cli import main

main()
