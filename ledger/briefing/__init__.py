"""风险研判简报: the periodic risk briefing for leadership, as Word (and PDF) with charts.

    figures.py   store + database -> ``Briefing`` (model.py), the figures of one period
    advice.py    figures -> 研判建议 (pure rules)
    charts.py    figures -> PNG charts (matplotlib, Agg, a CJK font)
    word.py      ``Briefing`` + charts -> .docx (python-docx)
    pdf.py       .docx -> .pdf (LibreOffice in a subprocess)
    build.py     all of the above for one period, as ``yuqing brief`` and the weekly job run it

This module stays light on purpose: ``ledger.config`` imports ``ledger.briefing.config`` for the
settings, and every process loads the settings.
"""
