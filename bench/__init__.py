"""`python -m bench`: the project against what a user would otherwise build, in one run.

The naive stack is sentence-transformers on torch with the same base model and qdrant-client's
local mode; both stacks get the same passages, the same queries and the same machine, so the
ratios mean something even where the absolute figures do not travel between machines.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout the benchmarks run from
