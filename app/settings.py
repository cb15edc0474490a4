"""Service and indexer settings: one typed object, read from the environment.

Every variable is prefixed `POLYSEARCH_` (e.g. `POLYSEARCH_MODEL_DIR`), except `QDRANT_URL` and
`QDRANT_API_KEY`, which keep the names Qdrant users already know.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from app.model_card import Variant

# The default student (models/releases/, assembled by `python -m models build`): docs/distill.md
# says why this one.
DEFAULT_MODEL = "e5-l12-wise-40"
# Padded tokens per onnxruntime call, besides the text count. Calls this small keep their
# activations in the CPU's cache: with this cap, fp32 at 32 texts per call encodes ~3x the
# verses per second it did without (bench encode rows: 82 vs 28 passages/s on 2 cores).
DEFAULT_BATCH_TOKENS = 512
ENV_PREFIX = "POLYSEARCH_"  # of every variable but QDRANT_URL and QDRANT_API_KEY


def usable_cores() -> int:
    """Cores the encoder may use: all of them, up to 4 (more barely speeds up a small model)."""
    return min(os.cpu_count() or 1, 4)


# How a vector store keeps the vectors of the collections it creates (see `vector_quantization`).
Quantization = Literal["none", "int8"]
DEFAULT_QUANTIZATION: Quantization = "int8"  # see `vector_quantization`
# How /v1/search ranks: by meaning (dense vectors), by words (BM25) or both (app/store/fusion.py).
SearchMode = Literal["dense", "lexical", "hybrid"]
# How the writer makes the sentence vectors of highlights (app/highlights/indexing.py).
SentenceVectors = Literal["late", "separate"]


class Settings(BaseSettings):
    # A variable set to the empty string counts as unset (`KEY=` in an env file, `${VAR:-}` in
    # Compose): it takes the default instead of failing to parse as a number or path.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True)

    models_dir: Path = Field(
        default=Path("artifacts/models"),
        description="Directory of built models, one sub-directory (with a model card) per model.",
    )
    model: str = Field(
        default=DEFAULT_MODEL,
        description="The served model: the name of a sub-directory of the models directory.",
    )
    # int8 by default: ~1.5x fp32's encode speed on UDHR paragraphs on 2 cores, for 1.3 points
    # of UDHR acc@1 over 511 languages (docs/eval).
    model_variant: Variant = Field(
        default="int8",
        description="Which ONNX graph to run: `int8` (8-bit weight blocks; a text's vector "
        "does not depend on the texts encoded beside it) or `fp32`.",
    )
    # 0 shares the cores out: one thread per call in the service (see `encode_concurrency`),
    # all of them in the indexer, which encodes one call at a time.
    encoder_threads: int = Field(
        default=0,
        ge=0,
        description="onnxruntime threads per encoder call; 0: the cores (at most 4) shared out "
        "among the calls that run at once.",
    )
    # A query that has the encoder to itself runs on all the cores: on 2 cores it is 13-20%
    # faster end to end (dense search c=1 p50 on the 154k-verse index, Intel Xeon: 11.1 vs 12.8
    # ms side by side in the benchmark's harness, 9.4-9.9 vs 11.6-12.5 ms in alternating runs),
    # as two threads pull the weights into cache side by side; under concurrent load one-thread
    # calls side by side serve more queries, so it applies only while nothing else comes
    # (app/encode_queue.py, `EncodeQueue.slot`).
    solo_query_threads: int = Field(
        default=0,
        ge=0,
        le=64,
        description="onnxruntime threads for a query alone on the service's encoder (idle, and "
        "found busy by no call in the last second), in a second onnxruntime session (~45 MB "
        "for the default model, which maps the first's word embedding tables); 0: the cores "
        "(at most 4); no more than a call's threads: off.",
    )
    encode_batch_size: int | None = Field(
        default=None,
        ge=1,
        le=1024,
        description="Most texts in one onnxruntime call; unset: 32 (1 for an int8 model "
        "built before builder v3, whose dynamic quantisation scaled per call).",
    )
    # Calls this small keep their activations in the CPU's cache (see DEFAULT_BATCH_TOKENS).
    encode_batch_tokens: int = Field(
        default=DEFAULT_BATCH_TOKENS,
        ge=1,
        le=1_000_000,
        description="Most padded tokens in one onnxruntime call (a longer text goes alone).",
    )

    data_dir: Path = Field(
        default=Path("data/qdrant"),
        description="Where the embedded Qdrant store (qdrant-edge) keeps its collections when "
        "no Qdrant server is configured.",
    )
    qdrant_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("QDRANT_URL", "POLYSEARCH_QDRANT_URL"),
        description="URL of a Qdrant server or cluster to use instead of the embedded store.",
    )
    qdrant_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("QDRANT_API_KEY", "POLYSEARCH_QDRANT_API_KEY"),
        description="API key sent to the Qdrant server.",
    )

    qdrant_shards: int = Field(
        default=1,
        ge=1,
        le=1024,
        description="Shards of each collection created on a Qdrant server or cluster.",
    )
    qdrant_replicas: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Copies of each shard of a collection created on a Qdrant server or cluster.",
    )
    # int8 keeps 1 byte per dimension in RAM (always_ram) instead of 4, leaves the fp32 originals
    # on disk, and rescores the top candidates (2x oversampled) with the originals. The default:
    # on the 154k-verse corpus at the default beam width, the recall of fp32 (0.998 vs 0.997)
    # and 1.79 ms per search against 2.84, each timed right after its query's encoding as in
    # the service (docs/bench/recall.md, `python -m bench.recall`, 2026-12-06).
    vector_quantization: Quantization = Field(
        default=DEFAULT_QUANTIZATION,
        description="How collections created from then on keep their vectors in RAM (`int8`: a "
        "quarter of the bytes, rescored with the fp32 originals); each collection keeps the "
        "setting it was created with.",
    )
    # 256: recall@10 0.998 vs 0.983 with the engine's default (128: 0.985), for +0.5 ms per
    # search over 154k int8 verses (docs/bench/recall.md, `python -m bench.recall`, 2026-12-06).
    # None (from code only: an empty variable does not parse as an integer): the engine's
    # default.
    search_hnsw_ef: int | None = Field(
        default=256,
        ge=1,
        le=4096,
        description="HNSW beam width of a search: higher finds more of the exact top k, a "
        "little slower.",
    )
    payload_indexes: dict[str, Literal["keyword", "integer"]] = Field(
        default={"metadata.article": "integer"},
        description="Payload fields indexed for filters and `group_by` besides `language` and "
        "`doc_id`, as a JSON object of field path to index kind (keyword or integer), created in "
        "every collection the service opens or creates.",
    )

    default_collection: str = Field(
        default="udhr",
        description="Collection searched when a request names none, and the indexer's default.",
    )
    host: str = Field(default="127.0.0.1", description="Address `python -m app` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `python -m app` listens on.")
    # Longer than the idle timeouts of the clients and proxies in front (httpx's pool: 5 s, as
    # uvicorn's own default; nginx and AWS load balancers: 60 s), so that they close an idle
    # connection first: a request sent on a connection the service is closing is lost (reset).
    keep_alive_s: int = Field(
        default=75,
        ge=1,
        description="Seconds `python -m app` keeps an idle HTTP connection open, longer than "
        "the clients and proxies in front of it keep theirs.",
    )

    # Input limits for the HTTP API.
    max_query_chars: int = Field(
        default=2_000, ge=1, description="Longest search query, in characters (longer: 413)."
    )
    max_text_chars: int = Field(
        default=20_000,
        ge=1,
        description="Longest text to embed or document to upsert, in characters (longer: 413).",
    )
    max_texts_per_request: int = Field(
        default=256, ge=1, description="Most texts or documents in one request."
    )
    max_top_k: int = Field(default=100, ge=1, description="Largest `top_k` a search may ask for.")
    max_offset: int = Field(
        default=1000,
        ge=0,
        description="Deepest `offset` a search may ask for (a page ranks offset + top_k results).",
    )
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="Largest request body in bytes, chunked bodies included (larger: 413).",
    )

    # Access control (app/security.py). With no key at all the API is open, and `python -m app`
    # binds only to loopback unless `allow_insecure_bind` says otherwise.
    api_keys_read: SecretStr | None = Field(
        default=None, description="Comma-separated API keys with the read role."
    )
    api_keys_write: SecretStr | None = Field(
        default=None,
        description="Comma-separated API keys with the write role (write implies read).",
    )
    api_keys_file: Path | None = Field(
        default=None,
        description="A file of `read KEY` / `write KEY` lines (`#` comments), added to the keys "
        "above.",
    )
    allow_insecure_bind: bool = Field(
        default=False,
        description="Let `python -m app` serve an open API (no keys) on a non-loopback address.",
    )
    metrics_require_key: bool = Field(
        default=False, description="Ask for a read key on `/metrics` too."
    )
    cors_origins: str = Field(
        default="",
        description="Browser origins allowed to call the API (comma-separated, `*` for any); "
        "empty: no CORS headers.",
    )

    # Backpressure (app/encode_queue.py). Under load, on 2 cores two single-thread calls serve
    # ~1.5x the queries of one call on both (c=8: 173 vs 114 QPS, p99 82 vs 176 ms; docs/bench);
    # a query alone runs on both (`solo_query_threads`).
    # The indexer (`python -m indexer`, start-up indexing) runs as many calls at once on each
    # batch: on 2 cores, two one-thread calls indexed UDHR passages at ~1.4x the rate of one
    # two-thread call for int8 (one text per call) and ~1.1-1.3x for fp32 (32 per call),
    # measured side by side in one process (issue 19).
    encode_concurrency: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Encoder calls the service (for queries, and as many for writes), and the "
        "indexer, run at once; 0: one per core (at most 4).",
    )
    encode_queue_size: int = Field(
        default=8,
        ge=0,
        le=10_000,
        description="Requests allowed to wait for the encoder beside those running; past them, "
        "503 `overloaded`.",
    )
    request_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Longest wait for the encoder, in seconds, before a request gets 503 "
        "`overloaded`; the smaller of this and `max_queue_wait_ms` applies.",
    )
    # Dynamic batching (app/encode_combiner.py): off for an int8 build with dynamic
    # quantisation, whose scale is picked per call, so a shared call would move a vector with
    # its neighbours.
    combine_requests: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Let concurrent requests share one encoder call (`auto`: on wherever a "
        "vector does not depend on the texts sharing its call: fp32, and int8 since builder v3).",
    )
    combine_max_texts: int = Field(
        default=64, ge=1, le=4096, description="Most texts in one shared encoder call."
    )

    # Fair scheduling and admission control (app/encode_queue.py).
    max_queue_wait_ms: int = Field(
        default=200,
        ge=1,
        le=600_000,
        description="Longest a request waits for an encoder slot: one whose estimated wait is "
        "longer is answered 503 with Retry-After at once, and none waits past it.",
    )
    queue_aging_ms: int = Field(
        default=200,
        ge=1,
        le=600_000,
        description="A waiting write or background encoder call moves up one priority class "
        "(background, write, query) for every this many milliseconds it has waited.",
    )
    write_encode_texts: int = Field(
        default=1,
        ge=1,
        le=1024,
        description="Passages per encoder call of a document upsert; each call queues on its "
        "own, so queries get the encoder between them.",
    )
    # 0 follows the encoder: one text per call while int8 scales activations per call, bigger
    # calls (fewer, cheaper per passage) once a variant's vectors do not depend on the batch.
    background_encode_texts: int = Field(
        default=0,
        ge=0,
        le=1024,
        description="Passages per encoder call of the start-up indexing (`index_on_start`), "
        "whose calls queue behind queries and writes; 0: the encoder's texts per call "
        "(`encode_batch_size` or the variant's default).",
    )
    # Searches have encoder slots of their own (app/encode_queue.py); on 2 cores beside two
    # 256-document writers their p99 was 179.8 ms while they shared the writers' slots and
    # priority, 61.2 ms with slots of their own and writes at nice 19, the writers then at 0.58x
    # their rate alone (0.80x before; `python -m bench.contention`, docs/operations.md).
    write_nice: int = Field(
        default=19,
        ge=0,
        le=19,
        description="How many nice levels below the service's the encoder runs writes and "
        "background indexing (Linux; 0: the same), so that a search's encoder call takes the "
        "cores from them at once while they have the cores whenever no search runs.",
    )
    index_on_start: Path | None = Field(
        default=None,
        description="A JSONL corpus ({id, text, language?, metadata?} per line) indexed into the "
        "default collection in the background once the service is ready (`make run`: the "
        "UDHR demo corpus); documents already stored unchanged are skipped.",
    )

    @field_validator("index_on_start")
    @classmethod
    def _corpus_is_a_file(cls, value: Path | None) -> Path | None:
        """Refused at start rather than logged once the service is up and serving without it."""
        if value is not None and not value.is_file():
            raise ValueError(
                "no such file (a JSONL corpus to index at start-up; unset to start without)"
            )
        return value

    log_format: Literal["json", "text"] = Field(
        default="json", description="Log lines as JSON objects or as plain text."
    )

    def threads_per_call(self, concurrent_calls: int) -> int:
        """onnxruntime threads per encoder call: `encoder_threads`, or the cores (at most 4)
        shared out among the `concurrent_calls` that run at once."""
        return self.encoder_threads or max(1, usable_cores() // concurrent_calls)

    def solo_threads(self, concurrent_calls: int) -> int:
        """onnxruntime threads for a query alone on the encoder: `solo_query_threads`, or the
        cores (at most 4); never fewer than a call's, and a call's with one call at once (no
        other slot for a solo query to take)."""
        per_call = self.threads_per_call(concurrent_calls)
        if concurrent_calls == 1:
            return per_call
        return max(per_call, self.solo_query_threads or usable_cores())

    # Lexical and hybrid ranking (app/lexical, app/store/fusion.py). The defaults were chosen on
    # the evaluation's development split (docs/eval/README.md, "Dense, lexical and hybrid").
    search_mode: SearchMode = Field(
        default="hybrid",
        description="How /v1/search ranks when a request names no mode: dense, lexical or hybrid.",
    )
    hybrid_lexical_weight: float = Field(
        default=0.05,
        ge=0,
        le=100,
        description="Hybrid score = cosine + this weight x BM25 score per distinct query term.",
    )
    hybrid_dense_candidates: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Nearest passages by vector that a hybrid search fuses (at least top_k).",
    )
    hybrid_lexical_candidates: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Best BM25 passages that a hybrid search fuses (at least top_k).",
    )
    # Changing it re-indexes each document on its next write (it is part of the document hash).
    highlight_sentence_vectors: SentenceVectors = Field(
        default="late",
        description="How indexing makes the sentence vectors that highlights score: late (pooled "
        "from the passage's own encoding, then through the model's highlight projection where "
        "it has one; no extra cost) or separate (each sentence encoded alone: more accurate "
        "highlights, about half to three quarters of the passages/s).",
    )
    hybrid_lexical_baseline_rank: int = Field(
        default=10,
        ge=0,
        le=10_000,
        description="Hybrid counts only BM25 above this rank's lexical match score (0: all).",
    )
    # What 3 gives and costs: docs/search.md ("Groups by the mean of their best passages").
    group_rank_passages: int = Field(
        default=1,
        ge=1,
        le=100,
        description="Searches with group_by rank each group by the mean score of its best this "
        "many passages (1: by its best passage alone, as Qdrant does; 3 ranks best on the "
        "evaluation's development languages, at several times a grouped search's latency).",
    )

    @property
    def model_dir(self) -> Path:
        return self.models_dir / self.model

    @property
    def encode_calls(self) -> int:
        """Encoder calls the service runs at once."""
        return self.encode_concurrency or usable_cores()

    def combined_batch_limit(self, batch_independent: bool) -> int | None:
        """Texts per shared encoder call, or None when requests are not combined.
        `batch_independent`: whether the served graph's vectors ignore their call's other texts
        (`app.encoder.batch_independent`)."""
        on = self.combine_requests == "on" or (
            self.combine_requests == "auto" and batch_independent
        )
        return self.combine_max_texts if on else None


class SettingsInvalidError(ValueError):
    """A setting in the environment does not parse: the message names each variable and what
    is wrong with it, never the value (it may be a secret)."""


def _variable(name: str) -> str:
    """The environment variable behind a field name of an error (an alias is one already)."""
    return f"{ENV_PREFIX}{name.upper()}" if name in Settings.model_fields else name


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment; SettingsInvalidError for a value that does not parse."""
    try:
        return Settings()
    except ValidationError as error:
        problems = [
            f"{_variable(str(problem['loc'][0]))}: {problem['msg']}" for problem in error.errors()
        ]
        raise SettingsInvalidError("; ".join(problems)) from None
    except SettingsError as error:  # a JSON-valued setting that is not JSON
        fields = re.findall(r'field "([^"]+)"', str(error))
        names = ", ".join(_variable(field) for field in fields) or "a setting"
        raise SettingsInvalidError(f"{names}: not valid JSON") from None
