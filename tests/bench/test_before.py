"""bench.before's parts that need no models: reading a commit's tree, and the summary line both
commits print (today's `IndexSummary` must still parse, or the before/now rows break)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.documents.writer import IndexSummary
from bench import REPO_ROOT
from bench.before import (
    BEFORE_ISSUE_19,
    START_UP_DONE,
    CommitUnavailableError,
    _figure,
    checkout,
)


def test_todays_summary_line_parses() -> None:
    summary = IndexSummary(read=12, indexed=11, unchanged=0, rejected=1, chunks=15, seconds=2.5)
    figure = _figure(f"{START_UP_DONE}{summary}", "make run")
    assert (figure.records, figure.points, figure.seconds) == (12, 15, 2.5)
    assert figure.passages_per_s == pytest.approx(6.0)


def test_a_line_without_a_summary_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no indexing summary"):
        _figure("indexing interrupted", "python -m indexer")


def test_a_missing_commit_is_reported_by_name(tmp_path: Path) -> None:
    with pytest.raises(CommitUnavailableError, match="cannot read commit 0123456789ab"):
        checkout("0123456789ab" * 3 + "0123", tmp_path / "tree")


def test_the_commit_before_issue_19_is_written_out_without_this_tree(tmp_path: Path) -> None:
    present = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "cat-file", "-e", f"{BEFORE_ISSUE_19}^{{commit}}"],
        check=False,
    )
    if present.returncode != 0:
        pytest.skip("a shallow clone: the commit before issue 19 is not here")
    tree = checkout(BEFORE_ISSUE_19, tmp_path / "tree")
    assert (tree / "indexer" / "__main__.py").is_file()
    assert not (tree / "bench" / "before.py").exists()  # that commit's tree, not this one
    assert not list(tmp_path.glob("*.tar"))  # the archive is removed
