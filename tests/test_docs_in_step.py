"""The docs name only settings and make targets that exist, and the settings table is current.

Docs drift when a setting or a target is renamed, added or dropped and nobody rereads the prose.
These checks read the README, docs/, the Makefile and the container files as a user would, and
say in each failure what to change.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from app import settings_doc
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
ENV_FILES = [*DOCS, ROOT / "Makefile", ROOT / "Dockerfile", ROOT / "docker-compose.yml"]
# Variables with our prefixes that are not settings, each with the reason it is named.
NON_SETTINGS = {
    "POLYSEARCH_CRASH_SEED": "tests/reliability/test_crash_safety.py: replays a kill time",
}
ENV_NAME = re.compile(r"\b(?:POLYSEARCH|QDRANT)_[A-Z0-9_]*[A-Z0-9]\b")
# `make X` in a code span or at the start of a line (a shell example), not "make sure" in prose.
MAKE_COMMAND = re.compile(r"(?:`|^[ \t]*(?:\$ )?)make ([a-z][a-z0-9-]*)", re.MULTILINE)
MAKE_TARGET = re.compile(r"^([a-z][a-z0-9-]*)\s*:(?!=)(.*)$", re.MULTILINE)


def _setting_variables() -> set[str]:
    return {
        env
        for name, field in Settings.model_fields.items()
        for env in settings_doc.env_names(name, field)
    }


def _makefile_targets() -> dict[str, bool]:
    """Every target of the Makefile, and whether it has a `## help` text."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {match[1]: "## " in match[2] for match in MAKE_TARGET.finditer(makefile)}


def _readme_commands_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n## Commands\n")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end > 0 else len(readme)]


def test_the_settings_table_in_docs_operations_is_current() -> None:
    check = subprocess.run(
        [sys.executable, "-m", "app.settings_doc", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, (
        f"{check.stderr.strip()}\n(docs/operations.md's settings table differs from "
        "app/settings.py: run `python -m app.settings_doc` and commit docs/operations.md)"
    )


def test_the_check_fails_on_a_stale_table(tmp_path: Path) -> None:
    doc = tmp_path / "operations.md"
    current = (ROOT / settings_doc.DOC).read_text(encoding="utf-8")
    table = current[current.index(settings_doc.BEGIN) :]
    row = next(line for line in table.splitlines() if line.startswith("| `POLYSEARCH_"))
    doc.write_text(current.replace(row, row.replace("`", "'")), encoding="utf-8")
    assert settings_doc.main(["--check", "--doc", str(doc)]) == 1
    assert settings_doc.main(["--doc", str(doc)]) == 0
    assert doc.read_text(encoding="utf-8") == current


def test_every_setting_has_a_one_sentence_description() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert not missing, (
        f"settings without a description: {missing}; declare each as "
        'Field(default=..., description="One sentence.") in app/settings.py'
    )
    long = {
        name: field.description
        for name, field in Settings.model_fields.items()
        if field.description and field.description.rstrip(".").count(". ") > 0
    }
    assert not long, f"descriptions of more than one sentence: {long}; keep rationale in comments"


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_variable_named_is_a_setting(path: Path) -> None:
    known = _setting_variables() | set(NON_SETTINGS)
    named = {
        name
        for name in ENV_NAME.findall(path.read_text(encoding="utf-8"))
        if not name.startswith("QDRANT__")  # the Qdrant server's own configuration
    }
    unknown = sorted(named - known)
    assert not unknown, (
        f"{path.relative_to(ROOT)} names {unknown}, which app/settings.py does not read: "
        "write the full name (POLYSEARCH_ prefix; see docs/operations.md's settings table), "
        "add the setting, or list a variable that is not a setting in NON_SETTINGS "
        "(tests/test_docs_in_step.py) with its reason"
    )


@pytest.mark.parametrize("path", [*DOCS, ROOT / "Makefile"], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_make_command_named_exists(path: Path) -> None:
    targets = _makefile_targets()
    named = set(MAKE_COMMAND.findall(path.read_text(encoding="utf-8")))
    unknown = sorted(named - set(targets))
    assert not unknown, (
        f"{path.relative_to(ROOT)} names `make {' / '.join(unknown)}`, which the Makefile lacks: "
        f"name one of its targets ({', '.join(sorted(targets))}) or add the target"
    )


def test_every_make_target_with_help_is_in_the_readme_command_list() -> None:
    section = _readme_commands_section()
    listed = set(MAKE_COMMAND.findall(section))
    missing = sorted(
        t for t, has_help in _makefile_targets().items() if has_help and t not in listed
    )
    assert not missing, (
        f"Makefile targets with `## help` missing from README.md's `## Commands` list: {missing}; "
        "add a `make TARGET` line for each, with what it does"
    )
