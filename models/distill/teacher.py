"""Teachers embed the English side once; the embeddings are cached on disk by content hash.

An `e5` teacher (multilingual-e5-small itself) reads `prefix + English`, the same prefix the
student gets, so both e5 conventions (`query: `, `passage: `) are taught. A
sentence-transformers teacher (all-MiniLM-L6-v2, all-mpnet-base-v2) reads plain English.
Teachers wider than the student (mpnet, 768-d) are not supported yet: they need a projection.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from transformers import BertModel

from indexer.registry import DEFAULT_CACHE, PackagePin
from models.build import TOKENIZER_FILE
from models.data.packages import pypi_package
from models.distill.encoding import embed, load_tokenizer
from models.distill.recipe import TeacherSpec

Embeddings = npt.NDArray[np.float32]
ENCODE_BATCH = 64
SAVE_EVERY = 25  # batches


def _encode_e5(spec: TeacherSpec, texts: list[str], max_seq_len: int, progress: Path) -> Embeddings:
    """Encodes in length order (batches of similar length pad little). Progress is saved to
    `progress` every SAVE_EVERY batches, so an interrupted teacher pass resumes too."""
    hf_dir = Path(spec.path)
    model = BertModel.from_pretrained(str(hf_dir), add_pooling_layer=False)
    model.eval()  # type: ignore[no-untyped-call]
    tokenizer = load_tokenizer(hf_dir / TOKENIZER_FILE, max_seq_len)
    order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
    vectors = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    done = 0
    if progress.is_file():
        with np.load(progress) as saved:
            vectors, done = saved["vectors"], int(saved["done"])
        print(f"  resuming at {done}/{len(texts)}", file=sys.stderr, flush=True)
    with torch.inference_mode():
        for batch, start in enumerate(range(done, len(texts), ENCODE_BATCH), start=1):
            rows = order[start : start + ENCODE_BATCH]
            vectors[rows] = embed(model, tokenizer, [texts[i] for i in rows]).numpy()
            if batch % SAVE_EVERY == 0:
                partial = progress.with_name(progress.name + ".partial.npz")
                np.savez(partial, vectors=vectors, done=start + len(rows))
                partial.replace(progress)
                print(f"  {start + len(rows)}/{len(texts)}", file=sys.stderr, flush=True)
    return vectors


def _encode_sentence_transformers(
    spec: TeacherSpec, texts: list[str], max_seq_len: int, cache_dir: Path
) -> Embeddings:
    from sentence_transformers import SentenceTransformer

    root = pypi_package(PackagePin(spec.package, spec.version, spec.sha256), cache_dir)
    model = SentenceTransformer(str(root / spec.model_subdir), device="cpu")
    model.max_seq_length = max_seq_len
    vectors = model.encode(texts, batch_size=ENCODE_BATCH, normalize_embeddings=True)
    return np.asarray(vectors, dtype=np.float32)


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
) -> Embeddings:
    """Unit vectors of `texts`, computed once per (teacher, max_seq_len, texts)."""
    key = hashlib.sha256(
        json.dumps([asdict(spec), max_seq_len, texts], ensure_ascii=False).encode()
    ).hexdigest()[:16]
    path = cache_root / f"teacher-{key}.npy"
    if path.is_file():
        return np.asarray(np.load(path), dtype=np.float32)
    started = time.perf_counter()
    print(f"teacher ({spec.kind}) embedding {len(texts)} texts ...", file=sys.stderr, flush=True)
    if spec.kind == "e5":
        vectors = _encode_e5(spec, texts, max_seq_len, path.with_suffix(".progress.npz"))
    else:
        vectors = _encode_sentence_transformers(spec, texts, max_seq_len, package_cache)
    elapsed = time.perf_counter() - started
    print(f"  {elapsed:.1f}s ({len(texts) / elapsed:.0f} texts/s)", file=sys.stderr, flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial.npy")
    np.save(partial, vectors)
    partial.replace(path)
    path.with_suffix(".progress.npz").unlink(missing_ok=True)
    return vectors
