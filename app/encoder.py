"""Sentence encoders at run time: onnxruntime + tokenizers, no torch.

An encoder turns texts into L2-normalised float32 vectors. Query and passage texts get the
prefixes from the model card. Texts longer than the model's window are refused, never cut:
callers (the indexer) chunk long documents first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from app.highlights.projection import SentenceProjection
from app.model_card import ModelCard, Variant
from app.settings import DEFAULT_BATCH_TOKENS, Settings, usable_cores

TextKind = Literal["query", "passage"]
Span = tuple[int, int]  # character offsets [start, end) into a text
Embeddings = npt.NDArray[np.float32]
# Texts whose token counts the encoder remembers (see `OnnxEncoder.count_tokens`): at least one
# request's worth (`max_texts_per_request`, 256) for each of the calls that run at once.
RECENT_COUNTS = 4096


BATCH_SIZE = 32


def default_batch_size(variant: Variant, card: ModelCard) -> int:
    """Texts per onnxruntime call unless configured: 32 (calls are also capped at
    `batch_tokens` padded tokens). An int8 graph batches only if its card says that a text's
    vector does not depend on the texts beside it (`extra.int8.batch_independent`, builders v3
    to v5: each row's activations quantised alone, tested bit for bit). An
    older build's int8 used dynamic quantisation, one activation scale per call, so texts
    sharing a call would move each other's vectors (enough to flip near-ties): one per call."""
    return BATCH_SIZE if batch_independent(variant, card) else 1


def batch_independent(variant: Variant, card: ModelCard) -> bool:
    """Whether a text's vector from this graph is the same whatever texts share its call:
    always for fp32; for int8 only where the card says so (builder v3)."""
    if variant != "int8":
        return True
    int8 = card.extra.get("int8")
    return isinstance(int8, dict) and bool(int8.get("batch_independent"))


class TextTooLongError(ValueError):
    """A text needs more tokens than the model's window holds."""

    def __init__(self, index: int, tokens: int, limit: int) -> None:
        super().__init__(
            f"text {index} has {tokens} tokens, more than the model's limit of {limit}; "
            "split it into passages (the indexer chunks long documents)"
        )
        self.index = index
        self.tokens = tokens
        self.limit = limit


class Encoder(Protocol):
    """What the service and the indexer need from a sentence encoder."""

    @property
    def card(self) -> ModelCard: ...

    @property
    def dim(self) -> int: ...

    @property
    def tokenizer(self) -> Tokenizer:
        """The raw tokenizer (no padding, no truncation), for chunking by tokens."""

    def content_token_limit(self, kind: TextKind) -> int:
        """How many tokens of text (without prefix and special tokens) fit in one window."""

    def count_tokens(self, text: str, kind: TextKind) -> int:
        """Tokens the model would see for `text`: prefix and special tokens included."""

    def encode(self, texts: Sequence[str], kind: TextKind, solo: bool = False) -> Embeddings:
        """(len(texts), dim) float32, rows L2-normalised. TextTooLongError on overflow.
        `solo`: the call has the machine's cores to itself (the same vectors, maybe sooner)."""


class GraphSession(Protocol):
    """What the encoder needs of a runtime: onnxruntime's `InferenceSession.run`."""

    def run(
        self, output_names: list[str], input_feed: dict[str, npt.NDArray[np.int64]]
    ) -> list[Embeddings]: ...


def onnxruntime_session(graph: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        str(graph), sess_options=options, providers=["CPUExecutionProvider"]
    )


class OnnxEncoder:
    """A model card's ONNX graph run by onnxruntime on the CPU.

    The graph takes `input_ids` and `attention_mask` (int64, [batch, seq]) and returns
    `last_hidden_state` ([batch, seq, dim]); pooling and normalisation happen here, as the
    card says. Texts are sorted by length and cut into calls of at most `batch_size` texts and
    `batch_tokens` padded tokens (a longer text alone), so padding stays small.

    A call runs on `threads` onnxruntime threads; with `solo_threads` above that, a second
    session of the same graph runs the calls made with `solo=True` (a query alone on the
    machine) on that many. The vectors are bit for bit the same either way (tested): threads
    split rows and columns of each product, never the sums.

    `open_session` opens the graph in onnxruntime; a subclass may run it in another runtime
    (bench/openvino_runtime.py measures OpenVINO's).
    """

    open_session: Callable[[Path, int], GraphSession] = staticmethod(onnxruntime_session)

    def __init__(
        self,
        model_dir: Path,
        variant: Variant = "int8",
        threads: int | None = None,
        batch_size: int | None = None,
        batch_tokens: int = DEFAULT_BATCH_TOKENS,
        solo_threads: int | None = None,
    ) -> None:
        self._card = ModelCard.load(model_dir)
        if variant not in self._card.onnx_files:
            raise ValueError(
                f"model {self._card.name!r} has no {variant!r} ONNX file "
                f"(has: {', '.join(sorted(self._card.onnx_files))})"
            )
        self.variant = variant
        self.batch_size = batch_size or default_batch_size(variant, self._card)
        self.batch_tokens = batch_tokens
        self._tokenizer = Tokenizer.from_file(str(model_dir / self._card.tokenizer_file))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._pad_id = self._tokenizer.token_to_id("<pad>") or 0
        self._sentence_projection = SentenceProjection.of_model(model_dir)
        self._prefix_tokens = {
            kind: len(self._tokenizer.encode(prefix, add_special_tokens=False).ids)
            for kind, prefix in (
                ("query", self._card.query_prefix),
                ("passage", self._card.passage_prefix),
            )
        }
        self._special_tokens = self._tokenizer.num_special_tokens_to_add(is_pair=False)
        graph = model_dir / self._card.onnx_files[variant]
        self.threads = threads or usable_cores()  # onnxruntime threads per call
        self._session = self.open_session(graph, self.threads)
        self.solo_threads = max(self.threads, solo_threads or 0)  # per `solo=True` call
        self._solo_session = (
            self.open_session(graph, self.solo_threads)
            if self.solo_threads > self.threads
            else None
        )
        self._lock = threading.Lock()  # tokenizer batch calls are not re-entrant-safe enough
        # Token counts of the texts encoded last, so that `count_tokens` right after `encode`
        # (/v1/embeddings' usage) does not tokenise them a second time.
        self._recent_counts: OrderedDict[tuple[TextKind, str], int] = OrderedDict()

    @classmethod
    def from_settings(
        cls, settings: Settings, concurrent_calls: int = 1, solo_queries: bool = False
    ) -> OnnxEncoder:
        """The configured encoder; unless `encoder_threads` says otherwise, the cores (at most
        4) are shared out among the `concurrent_calls` that will run at once. `solo_queries`:
        a query alone on the machine may run on `solo_query_threads` (the service's)."""
        return cls(
            settings.model_dir,
            settings.model_variant,
            threads=settings.threads_per_call(concurrent_calls),
            batch_size=settings.encode_batch_size,
            batch_tokens=settings.encode_batch_tokens,
            solo_threads=settings.solo_threads(concurrent_calls) if solo_queries else None,
        )

    @property
    def card(self) -> ModelCard:
        return self._card

    @property
    def dim(self) -> int:
        return self._card.dim

    @property
    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    @property
    def sentence_projection(self) -> SentenceProjection | None:
        """The model's highlight projection (app/highlights/projection.py), applied at
        indexing to the span vectors `encode_spans` pools; None when the model has none."""
        return self._sentence_projection

    def _prefix(self, kind: TextKind) -> str:
        return self._card.query_prefix if kind == "query" else self._card.passage_prefix

    def content_token_limit(self, kind: TextKind) -> int:
        return self._card.max_seq_length - self._special_tokens - self._prefix_tokens[kind]

    def count_tokens(self, text: str, kind: TextKind) -> int:
        with self._lock:
            known = self._recent_counts.get((kind, text))
        if known is not None:
            return known
        return len(self._tokenizer.encode(self._prefix(kind) + text).ids)

    def _tokenize(self, texts: Sequence[str], kind: TextKind) -> list[Encoding]:
        prefix = self._prefix(kind)
        with self._lock:
            encodings = self._tokenizer.encode_batch([prefix + t for t in texts])
            for text, enc in zip(texts, encodings, strict=True):
                self._recent_counts[(kind, text)] = len(enc.ids)
                self._recent_counts.move_to_end((kind, text))
            while len(self._recent_counts) > RECENT_COUNTS:
                self._recent_counts.popitem(last=False)
        limit = self._card.max_seq_length
        for i, enc in enumerate(encodings):
            if len(enc.ids) > limit:
                raise TextTooLongError(i, len(enc.ids), limit)
        return encodings

    def encode(self, texts: Sequence[str], kind: TextKind, solo: bool = False) -> Embeddings:
        return self.encode_spans(texts, kind, None, solo)[0]

    def encode_spans(
        self,
        texts: Sequence[str],
        kind: TextKind,
        spans: Sequence[Sequence[Span]] | None,
        solo: bool = False,
    ) -> tuple[Embeddings, list[Embeddings]]:
        """The texts' vectors (as `encode`) and, for each text, one vector per character span of
        it in `spans` (for highlights: its sentences), L2-normalised rows.

        A span's vector is the mean of the hidden states of the tokens that end inside it, taken
        from the same encoder call as the text's own vector ("late chunking"): each sentence is
        read in the context of its passage, at no extra encoder cost. A span without tokens gets
        a zero row. `spans=None`: no span vectors (an empty list). `solo`: the call has the
        cores to itself, so it may run on `solo_threads`."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        per_text: list[Embeddings] = []
        if not texts:
            return out, per_text
        encodings = self._tokenize(texts, kind)
        if spans is not None:
            per_text = [np.zeros((len(s), self.dim), dtype=np.float32) for s in spans]
        shift = len(self._prefix(kind))
        session = self._solo_session if solo and self._solo_session else self._session
        for call in self._calls(encodings):
            wanted = None if spans is None else [spans[i] for i in call]
            out[call], pooled = self._run(session, [encodings[i] for i in call], wanted, shift)
            for i, vectors in zip(call, pooled, strict=False):  # empty when spans is None
                per_text[i] = vectors
        return out, per_text

    def _calls(self, encodings: Sequence[Encoding]) -> Iterator[list[int]]:
        """Row indices per onnxruntime call, shortest texts first: each text is the longest of
        its call so far, so a call's padded size is its row count times that text's length."""
        call: list[int] = []
        for i in sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids)):
            rows = len(call) + 1
            if call and (
                rows > self.batch_size or rows * len(encodings[i].ids) > self.batch_tokens
            ):
                yield call
                call = []
            call.append(i)
        if call:
            yield call

    def padded(
        self, texts: Sequence[str], kind: TextKind
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The graph's `input_ids` and `attention_mask` for `texts` in one call."""
        return self._padded(self._tokenize(texts, kind))

    def _padded(
        self, encodings: Sequence[Encoding]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        seq = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), seq), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), seq), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        return ids, mask

    def _run(
        self,
        session: GraphSession,
        encodings: Sequence[Encoding],
        spans: Sequence[Sequence[Span]] | None = None,
        shift: int = 0,
    ) -> tuple[Embeddings, list[Embeddings]]:
        ids, mask = self._padded(encodings)
        outputs = session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})
        hidden: Embeddings = outputs[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        if self._card.normalize:
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        result: Embeddings = pooled.astype(np.float32, copy=False)
        if spans is None:
            return result, []
        return result, [
            _span_vectors(hidden[row], enc, text_spans, shift)
            for row, (enc, text_spans) in enumerate(zip(encodings, spans, strict=True))
        ]


def _span_vectors(
    hidden: Embeddings, encoding: Encoding, spans: Sequence[Span], shift: int
) -> Embeddings:
    """Mean hidden state of the tokens of each span, L2-normalised. A token belongs to the span
    holding its last character (SentencePiece pieces start at the space before their word);
    `shift` is the prefix's length, which the tokenizer's offsets include. Special tokens and
    the prefix's own tokens belong to no span."""
    vectors = np.zeros((len(spans), hidden.shape[1]), dtype=np.float32)
    if not spans:
        return vectors
    offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    special = np.asarray(encoding.special_tokens_mask, dtype=bool)
    last = offsets[:, 1] - 1 - shift
    keep = (~special) & (offsets[:, 1] > offsets[:, 0]) & (last >= 0)
    starts = np.asarray([a for a, _ in spans], dtype=np.int64)
    ends = np.asarray([b for _, b in spans], dtype=np.int64)
    owner = np.searchsorted(starts, last, side="right") - 1
    keep &= owner >= 0
    keep[keep] &= last[keep] < ends[owner[keep]]
    rows = owner[keep]
    if len(rows):
        order = np.argsort(rows, kind="stable")  # tokens in text order within each span
        present, first = np.unique(rows[order], return_index=True)
        vectors[present] = np.add.reduceat(hidden[: len(offsets)][keep][order], first, axis=0)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors /= np.maximum(norms, 1e-12)
    return vectors
