"""The model card: everything the runtime needs to use a built encoder correctly.

`models/` writes it next to the ONNX files; `app/` and `indexer/` read it. Prefixes, maximum
length and pooling come from here, never from code, so a new student ships by writing a card.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

CARD_FILE = "model_card.json"

Variant = Literal["fp32", "int8"]


@dataclass(frozen=True)
class SourceArtifact:
    """A registry package file the model was built from."""

    package: str
    version: str
    file: str
    sha256: str


def external_data_file(graph: str) -> str:
    """The file beside a graph that holds its large tables (the word embeddings; builders since
    `models.build v7`, older graphs hold everything inline). onnxruntime memory-maps it rather
    than copying it into each session: the sessions and processes that serve the graph share
    its pages, and only the rows read are loaded."""
    return f"{graph}.data"


@dataclass(frozen=True)
class ModelCard:
    name: str
    dim: int
    max_seq_length: int  # tokens, special tokens included
    pooling: Literal["mean"]
    normalize: bool
    query_prefix: str
    passage_prefix: str
    tokenizer_file: str  # relative to the card's directory
    onnx_files: dict[str, str]  # variant ("fp32", "int8") -> file relative to the card
    sources: list[SourceArtifact]
    # Free-form extras: build recipe, evaluation results, per-language accuracy ...
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        sources = [SourceArtifact(**s) for s in data.get("sources", [])]
        return cls(**{**data, "sources": sources})

    def save(self, directory: Path) -> Path:
        path = directory / CARD_FILE
        path.write_text(self.to_json(), encoding="utf-8")
        return path

    def files(self, directory: Path) -> list[Path]:
        """The files of the model in `directory` that this card names: the tokenizer, each ONNX
        graph and, where the graph keeps its tables outside (`external_data_file`), their file."""
        names = [self.tokenizer_file]
        for graph in self.onnx_files.values():
            names += [graph, external_data_file(graph)]
        return [directory / name for name in names if (directory / name).is_file()]

    @classmethod
    def load(cls, directory: Path) -> ModelCard:
        path = directory / CARD_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"no model card at {path}; build the model first (`python -m models build`)"
            )
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
