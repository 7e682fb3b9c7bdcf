"""纠错: corrections of classified posts by the people who read them (monitors and admins).

- ``corrections.model``: the four correctable fields (topic, sentiment, risk level, region), their
  Chinese labels, validation.
- ``corrections.table``: the ``yuqing_corrections`` table in the ledger's database (SQLite or
  PostgreSQL): one append-only row per correction of one post — who, when, the model's values, the
  values before and after — which is also the audit trail of corrections.
- ``corrections.apply``: saving a correction (table and store together), the processing stage's
  re-application (a re-classified post keeps its corrected fields), and the values applied to a post.
- ``corrections.export``: corrections as labelled rows in the format of ``data/labels/labelled.jsonl``.
- ``corrections.quality``: how often the model agreed with the corrections, per period and class.
"""
