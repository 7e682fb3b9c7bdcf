"""风险研判简报: the periodic risk briefing for leadership, as Word (and PDF) with charts.

    figures.py   store + database -> ``Briefing`` (model.py), the figures of one period
    advice.py    figures -> 研判建议 (pure rules)
    charts.py    figures -> PNG charts (matplotlib, Agg, a CJK font)
    word.py      ``Briefing`` + charts -> .docx (python-docx)
    pdf.py       .docx -> .pdf (LibreOffice in a subprocess)
    build.py     all of the above for one period, as ``yuqing brief`` and the weekly job run it
    runs.py      the archive of runs (/briefings) and their delivery
    schedule.py  the scheduled runs inside ``yuqing run`` (stage.py)
    cli.py       ``yuqing brief``

A part of its own above the stages: it reads the store, the ledger's tables and the alerts (through
``alerts.store.AlertStore.fired_between``). Its settings stay the ``ledger.briefing`` section
(``ledger.briefing_config``), where existing configuration files have them.
"""
