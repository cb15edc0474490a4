"""The naive search service: a minimal FastAPI app over sentence-transformers + qdrant-client.

`python -m bench.naive_service --port P --model-dir D --store S --collection C` serves
`POST /v1/search` with the project's request shape and `GET /readyz`, the way a user would
write it in an afternoon: load everything at start-up, a plain sync route, no batching.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from qdrant_client import QdrantClient
from qdrant_client.models import FieldCondition, Filter, MatchAny

from bench.naive_stack import SentenceTransformerEncoder


class SearchBody(BaseModel):
    query: str
    top_k: int = 10
    languages: list[str] | None = None


def create_naive_app(model_dir: Path, store_dir: Path, collection: str) -> FastAPI:
    loaded: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loaded["encoder"] = SentenceTransformerEncoder(model_dir)
        loaded["client"] = QdrantClient(path=str(store_dir))
        yield
        loaded["client"].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/search")
    def search(body: SearchBody) -> dict[str, Any]:
        encoder: SentenceTransformerEncoder = loaded["encoder"]
        client: QdrantClient = loaded["client"]
        vector = encoder.encode([body.query], "query")[0]
        where = None
        if body.languages:
            where = Filter(
                must=[FieldCondition(key="language", match=MatchAny(any=body.languages))]
            )
        hits = client.query_points(
            collection, query=vector.tolist(), query_filter=where, limit=body.top_k
        ).points
        results = [
            {
                "id": (hit.payload or {}).get("doc_id"),
                "score": hit.score,
                "text": (hit.payload or {}).get("text"),
                "language": (hit.payload or {}).get("language"),
            }
            for hit in hits
        ]
        return {"query": body.query, "results": results}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.naive_service")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--collection", required=True)
    args = parser.parse_args()
    app = create_naive_app(args.model_dir, args.store, args.collection)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
