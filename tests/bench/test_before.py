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
    add_release,
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


def test_a_release_newer_than_the_commit_is_added_to_its_tree(tmp_path: Path) -> None:
    """The old builder then assembles today's weights: the same model, the old code."""
    repo, root = tmp_path / "repo", tmp_path / "tree"
    (repo / "models" / "releases" / "new").mkdir(parents=True)
    (repo / "models" / "releases" / "new" / "manifest.json").write_text("{}")
    (root / "models" / "releases" / "old").mkdir(parents=True)
    (root / "models" / "releases" / "old" / "manifest.json").write_text('{"old": 1}')
    (repo / "models" / "releases" / "old").mkdir()
    (repo / "models" / "releases" / "old" / "manifest.json").write_text('{"today": 1}')

    for model in ("new", "old", "multilingual-e5-small"):
        add_release(root, model, repo)

    assert (root / "models" / "releases" / "new" / "manifest.json").read_text() == "{}"
    assert (root / "models" / "releases" / "old" / "manifest.json").read_text() == '{"old": 1}'
    assert not (root / "models" / "releases" / "multilingual-e5-small").exists()
