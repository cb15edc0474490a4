"""A setting that does not parse stops `python -m app` and `python -m indexer` with one line that
names the variable and what is wrong, not a traceback, and never the value (it may be a secret)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from app.settings import SettingsInvalidError, get_settings
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("POLYSEARCH_PORT", "eighty", "POLYSEARCH_PORT: Input should be a valid integer"),
        ("POLYSEARCH_SEARCH_MODE", "fuzzy", "POLYSEARCH_SEARCH_MODE: Input should be 'dense'"),
        ("POLYSEARCH_PAYLOAD_INDEXES", "{not json", "POLYSEARCH_PAYLOAD_INDEXES: not valid JSON"),
        ("POLYSEARCH_HYBRID_LEXICAL_WEIGHT", "-1", "greater than or equal to 0"),
        ("POLYSEARCH_INDEX_ON_START", "no/such/corpus.jsonl", "POLYSEARCH_INDEX_ON_START: Value"),
    ],
)
def test_a_bad_value_names_its_variable_and_not_the_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsInvalidError) as refused:
        get_settings()
    assert message in str(refused.value)
    assert value not in str(refused.value)


def test_every_bad_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYSEARCH_PORT", "x")
    monkeypatch.setenv("POLYSEARCH_SEARCH_MODE", "y")
    with pytest.raises(SettingsInvalidError) as refused:
        get_settings()
    assert "POLYSEARCH_PORT: " in str(refused.value)
    assert "; POLYSEARCH_SEARCH_MODE: " in str(refused.value)


@pytest.mark.parametrize("command", [["app"], ["indexer", "demo", "--prepare-only"]])
def test_the_commands_stop_with_one_line_and_exit_2(command: list[str]) -> None:
    env = {**os.environ, "POLYSEARCH_PORT": "eighty"}
    run = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "error: POLYSEARCH_PORT: Input should be a valid integer, unable to parse string as an "
        "integer"
    ]
