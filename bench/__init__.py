"""Benchmarks: ``python -m bench.<name>``. Each prints a comparison against a baseline measured
in the same run and ends with one ``RESULT name=value ...`` line."""
