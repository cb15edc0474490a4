"""The evaluation yardstick: held-out cross-lingual retrieval tasks, baselines and the report.

`python -m models evaluate` runs it; `docs/eval/` holds what it wrote. UDHR and the New
Testament are held out: nothing under `models/` may train on them.
"""
