"""Service and indexer settings: one typed object, read from the environment.

Every variable is prefixed `POLYSEARCH_` (e.g. `POLYSEARCH_MODEL_DIR`), except `QDRANT_URL` and
`QDRANT_API_KEY`, which keep the names Qdrant users already know.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.model_card import Variant

# The default student (models/releases/, assembled by `python -m models build`): docs/distill.md
# says why this one.
DEFAULT_MODEL = "e5-l12-hybrid-200"
# Padded tokens per onnxruntime call, besides the text count. Calls this small keep their
# activations in the CPU's cache: with this cap, fp32 at 32 texts per call encodes ~3x the
# verses per second it did without (bench encode rows: 82 vs 28 passages/s on 2 cores).
DEFAULT_BATCH_TOKENS = 512


def usable_cores() -> int:
    """Cores the encoder may use: all of them, up to 4 (more barely speeds up a small model)."""
    return min(os.cpu_count() or 1, 4)


# How a vector store keeps the vectors of the collections it creates (see `vector_quantization`).
Quantization = Literal["none", "int8"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POLYSEARCH_", extra="ignore")

    # Where built models live; `model` names a sub-directory holding a model card.
    models_dir: Path = Path("artifacts/models")
    model: str = DEFAULT_MODEL
    # int8 by default: ~1.5x fp32's encode speed on UDHR paragraphs on 2 cores, for 1.3 points
    # of UDHR acc@1 over 511 languages (docs/eval). Each int8 text gets its own onnxruntime
    # call, so its vector does not depend on the texts encoded beside it (`encode_batch_size`).
    model_variant: Variant = "int8"
    # onnxruntime threads per encoder call. 0: the cores (at most 4) shared out among the calls
    # that run at once: one each in the service (see `encode_concurrency`), all of them in the
    # indexer, which encodes one call at a time.
    encoder_threads: int = Field(default=0, ge=0)
    # Texts per onnxruntime call; None: 1 for int8 (dynamic quantisation scales per call), 32
    # for fp32. A call also stops at `encode_batch_tokens` padded tokens.
    encode_batch_size: int | None = Field(default=None, ge=1, le=1024)
    encode_batch_tokens: int = Field(default=DEFAULT_BATCH_TOKENS, ge=1, le=1_000_000)

    # Embedded Qdrant (qdrant-edge) keeps its collections here when no server is configured.
    data_dir: Path = Path("data/qdrant")
    qdrant_url: str | None = Field(
        default=None, validation_alias=AliasChoices("QDRANT_URL", "POLYSEARCH_QDRANT_URL")
    )
    qdrant_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("QDRANT_API_KEY", "POLYSEARCH_QDRANT_API_KEY"),
    )

    # Collections created on a Qdrant cluster get these shard and replica counts.
    qdrant_shards: int = Field(default=1, ge=1, le=1024)
    qdrant_replicas: int = Field(default=1, ge=1, le=16)
    # Applies to collections created from then on; each keeps the setting it was created with.
    # int8 keeps 1 byte per dimension in RAM (always_ram) instead of 4, leaves the fp32 originals
    # on disk, and rescores the top candidates (2x oversampled) with the originals.
    vector_quantization: Quantization = "none"
    # HNSW beam width of a search: higher finds more of the exact top k, a little slower. 256:
    # recall@10 0.95 vs 0.89 with the engine's default, for +0.2 ms per search over 154k
    # verses (docs/bench/recall.md, `python -m bench.recall`). None: the engine's default.
    search_hnsw_ef: int | None = Field(default=256, ge=1, le=4096)

    default_collection: str = "udhr"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # Input limits for the HTTP API.
    max_query_chars: int = Field(default=2_000, ge=1)
    max_text_chars: int = Field(default=20_000, ge=1)
    max_texts_per_request: int = Field(default=256, ge=1)
    max_top_k: int = Field(default=100, ge=1)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)

    # Access control (app/security.py): comma-separated keys per role, and/or a file of
    # `read KEY` / `write KEY` lines. With no key at all the API is open, and `python -m app`
    # binds only to loopback unless `allow_insecure_bind` says otherwise.
    api_keys_read: SecretStr | None = None
    api_keys_write: SecretStr | None = None
    api_keys_file: Path | None = None
    allow_insecure_bind: bool = False
    metrics_require_key: bool = False
    # Browser origins allowed to call the API (comma-separated; "*" for any). None by default.
    cors_origins: str = ""

    # Backpressure (app/encode_queue.py): encoder calls running at once, callers allowed to
    # wait for one, and how long a caller waits before it gets 503 `overloaded`.
    # 0: one call per core (at most 4), each on one thread. A query is too short for threads to
    # speed it up, so on 2 cores two single-thread calls serve ~1.5x the queries of one call on
    # both (c=8: 173 vs 114 QPS, p99 82 vs 176 ms; docs/bench).
    encode_concurrency: int = Field(default=0, ge=0, le=64)
    encode_queue_size: int = Field(default=8, ge=0, le=10_000)
    request_timeout_s: float = Field(default=10.0, gt=0)
    # Dynamic batching (app/encode_combiner.py): concurrent requests share one encoder call of
    # at most `combine_max_texts` texts. auto: on where vectors do not depend on the batch
    # (fp32), off for dynamic int8, whose scale is picked per batch.
    combine_requests: Literal["auto", "on", "off"] = "auto"
    combine_max_texts: int = Field(default=64, ge=1, le=4096)

    log_format: Literal["json", "text"] = "json"

    @property
    def model_dir(self) -> Path:
        return self.models_dir / self.model

    @property
    def encode_calls(self) -> int:
        """Encoder calls the service runs at once."""
        return self.encode_concurrency or usable_cores()

    @property
    def combined_batch_limit(self) -> int | None:
        """Texts per shared encoder call, or None when requests are not combined."""
        on = self.combine_requests == "on" or (
            self.combine_requests == "auto" and self.model_variant == "fp32"
        )
        return self.combine_max_texts if on else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
