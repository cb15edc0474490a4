"""`/v1/embeddings` driven by the official `openai` Python client with its default settings
(it asks for base64 unless told otherwise), against the real app served by uvicorn on a free
loopback port; and the opt-in `truncate` of both embedding routes."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import numpy as np
import openai
import pytest

from app.encoder import OnnxEncoder
from app.main import create_app
from app.metrics import Metrics
from app.service import SearchService
from app.settings import Settings
from app.store.edge import QdrantEdgeStore
from tests.conftest import _free_port, serve_in_thread

TEXTS = ["Kila mtu ana haki ya kupata elimu.", "Everyone has the right to education."]
# About 900 tokens: past the model's window (512), within the request's character limit.
LONG = " ".join(f"word{i}" for i in range(300))


@pytest.fixture(scope="module")
def url(encoder: OnnxEncoder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = QdrantEdgeStore(tmp_path_factory.mktemp("openai") / "qdrant")
    service = SearchService(encoder, store, Metrics())
    yield from serve_in_thread(create_app(Settings(), service), _free_port())
    store.close()


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{url}/v1", api_key="unused") as openai_client:
        yield openai_client


def test_the_official_client_embeds_with_its_defaults(
    client: openai.OpenAI, encoder: OnnxEncoder
) -> None:
    response = client.embeddings.create(model=encoder.card.name, input=TEXTS)
    got = np.array([d.embedding for d in response.data], dtype=np.float32)
    assert [d.index for d in response.data] == [0, 1]
    assert response.model == encoder.card.name
    assert response.usage.prompt_tokens == sum(encoder.count_tokens(t, "passage") for t in TEXTS)
    # Decoded from base64 by the client: the very vectors the encoder makes.
    np.testing.assert_allclose(got, encoder.encode(TEXTS, "passage"), atol=1e-6)


def test_float_and_base64_answers_hold_the_same_vectors(
    client: openai.OpenAI, url: str, encoder: OnnxEncoder
) -> None:
    floats = client.embeddings.create(
        model=encoder.card.name, input=TEXTS[0], encoding_format="float"
    )
    raw = httpx.post(
        f"{url}/v1/embeddings", json={"input": TEXTS[0], "encoding_format": "base64"}
    ).json()
    encoded = raw["data"][0]["embedding"]
    assert isinstance(encoded, str)
    decoded = np.frombuffer(base64.b64decode(encoded), dtype="<f4")
    assert decoded.shape == (encoder.dim,)
    np.testing.assert_array_equal(decoded, np.array(floats.data[0].embedding, dtype=np.float32))


def test_dimensions_other_than_the_models_is_a_clear_422(
    client: openai.OpenAI, encoder: OnnxEncoder
) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.embeddings.create(model=encoder.card.name, input=TEXTS, dimensions=128)
    assert "dimensions" in str(refused.value)
    assert f"{encoder.dim} dimensions" in str(refused.value)
    same = client.embeddings.create(model=encoder.card.name, input=TEXTS, dimensions=encoder.dim)
    assert len(same.data[0].embedding) == encoder.dim


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ([[9906, 1917]], "token ids are not taken"),  # the client's own token-array form
        ([1, 2], "token ids are not taken"),
        ({"text": "a"}, "give a string or a list of strings"),
        (["a", None], "give a string or a list of strings"),
    ],
)
def test_an_input_of_another_shape_is_a_422_in_one_sentence(
    url: str, given: object, message: str
) -> None:
    """Not the union's errors ("input.str: Input should be a valid string (and 1 more)")."""
    response = httpx.post(f"{url}/v1/embeddings", json={"input": given})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(f"input: Value error, {message}")


def test_a_text_over_the_window_is_a_413_unless_truncate_is_asked(
    client: openai.OpenAI, encoder: OnnxEncoder
) -> None:
    assert encoder.count_tokens(LONG, "passage") > encoder.card.max_seq_length
    with pytest.raises(openai.APIStatusError) as refused:
        client.embeddings.create(model=encoder.card.name, input=[LONG])
    assert refused.value.status_code == 413
    assert "679 tokens" in str(refused.value) and "truncate" in str(refused.value)
    cut = client.embeddings.create(
        model=encoder.card.name, input=[LONG, LONG + " and more words"],
        extra_body={"truncate": True},
    )  # fmt: skip
    first, second = (np.array(d.embedding, dtype=np.float32) for d in cut.data)
    # Both are cut to the same window of tokens: what lies past it changes nothing.
    np.testing.assert_array_equal(first, second)
    # Each fills the window, give or take a token re-tokenised at the cut.
    window = encoder.card.max_seq_length
    assert 2 * (window - 2) <= cut.usage.prompt_tokens <= 2 * window


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embed_truncates_to_the_window_when_asked(
    url: str, encoder: OnnxEncoder, kind: str
) -> None:
    refused = httpx.post(f"{url}/v1/embed", json={"texts": [LONG], "kind": kind})
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "text_too_long"
    body = {"texts": [LONG, "short"], "kind": kind, "truncate": True}
    response = httpx.post(f"{url}/v1/embed", json=body, timeout=60)
    assert response.status_code == 200, response.text
    long_vector, short_vector = np.array(response.json()["embeddings"], dtype=np.float32)
    # The long text's vector is that of its longest prefix that fits, cut after a token.
    words = LONG.split()
    fitting = max(
        n for n in range(1, len(words) + 1)
        if encoder.count_tokens(" ".join(words[:n]), kind) <= encoder.card.max_seq_length  # type: ignore[arg-type]
    )  # fmt: skip
    prefix_vector = encoder.encode([" ".join(words[:fitting])], kind)[0]  # type: ignore[arg-type]
    assert float(long_vector @ prefix_vector) > 0.99
    np.testing.assert_allclose(short_vector, encoder.encode(["short"], kind)[0], atol=1e-6)  # type: ignore[arg-type]
