"""Paths and parsed files for the container packaging tests (Dockerfile, compose, scripts)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.deploy.dockerfile import Dockerfile, parse

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_FILE = ROOT / "docker-compose.yml"
# The Compose specification's JSON schema, shared beside the repository (not vendored in it).
COMPOSE_SCHEMA = ROOT.parent / "shared" / "schemas" / "compose-spec.json"


def load_script(name: str) -> ModuleType:
    """Import a helper from docker/ (a folder of scripts, not a package) by file path."""
    path = ROOT / "docker" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"docker_{name}", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def dockerfile() -> Dockerfile:
    return parse(DOCKERFILE)


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document
