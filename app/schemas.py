"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from app.documents.record import LANG_PATTERN, Record
from app.filters import (
    FILTER_JSON_SCHEMA,
    MAX_ANY_VALUES,
    MAX_FILTER_FIELDS,
    check_field,
    parse_filter,
)
from app.settings import SearchMode
from app.store.base import Filter
from app.store.validation import COLLECTION_NAME_PATTERN
from app.text_rules import check_characters

# A filter accepts every code a record may carry (UDHR codes such as "ell_monotonic", "009").
LANGUAGE_CODE = re.compile(LANG_PATTERN)
# The stores' own rule (app/store/validation.py), so that every name the API takes is storable.
COLLECTION_NAME = COLLECTION_NAME_PATTERN

# Language codes one search may filter on: more than any corpus here holds (UDHR: ~500).
MAX_FILTER_LANGUAGES = 1_000

CollectionName = Annotated[str, StringConstraints(pattern=COLLECTION_NAME)]


class StrictModel(BaseModel):
    """Unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def check_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or whitespace")
    return check_characters(value)


class SearchRequest(StrictModel):
    query: str = Field(min_length=1, description="The query, in any language.")
    top_k: int = Field(default=10, ge=1, strict=True, description="How many results to return.")
    offset: int = Field(
        default=0,
        ge=0,
        strict=True,
        description="How many of the best results to skip: the next page of `top_k` starts at "
        "`offset` + `top_k`. Each page is ranked anew; in `hybrid`, pages within the first "
        "`HYBRID_DENSE_CANDIDATES` results come from the same candidates and never overlap.",
    )
    languages: list[str] | None = Field(
        default=None,
        max_length=MAX_FILTER_LANGUAGES,
        description="Only return passages in these languages (at most "
        f"{MAX_FILTER_LANGUAGES} codes), matched by language rather than by spelling: `en`, "
        "`ENG` and `eng` are one language, `de` finds `deu_1996`, `zh` finds `cmn_hans` and `sw` "
        "finds `swh` (a macrolanguage covers its members). A code with a script, region or "
        "variant (`zh-Hans`, `pt-BR`) finds only that form. The response's `languages` lists "
        "the codes searched. A `language` key in `filter` compares codes exactly instead.",
        examples=[["sw", "am"], ["zh-Hans"]],
    )
    collection: CollectionName | None = Field(default=None, description="Defaults to the demo.")
    filter: Annotated[dict[str, Any], WithJsonSchema(FILTER_JSON_SCHEMA)] | None = Field(
        default=None,
        description="Only return passages whose payload matches every condition: a field "
        "(`doc_id`, `language` or `metadata.KEY`, KEY any metadata key without '\"', '\\' or "
        "control characters, in any script, dots included) mapped to a value (equality) or to "
        '`{"any": [values]}` (any of them). Values are strings or integers and compared with '
        f'their type (`20` does not match a stored `"20"`); at most {MAX_FILTER_FIELDS} '
        f"fields and {MAX_ANY_VALUES} values per `any`.",
        examples=[{"metadata.article": 20}, {"doc_id": {"any": ["eng/20", "swh/20"]}}],
    )
    group_by: str | None = Field(
        default=None,
        description="Return the best passage of each of the `top_k` best groups, a group being "
        "the passages sharing one value (a string or an integer) of this field, e.g. "
        "`metadata.article`: `top_k` distinct values whenever that many match, ranked by "
        "`group.score`. A passage whose field is a list belongs to the group of each of its "
        "values, as in Qdrant. Each result then carries `group`: its value and score, how many "
        "passages share it and in which languages.",
        examples=["metadata.article"],
    )
    mode: SearchMode | None = Field(
        default=None,
        description=(
            "How to rank. `dense`: by meaning, across languages (the query's words need not "
            "occur in the passage). `lexical`: by the query's words (BM25; no stemming, any "
            "script), for names, numbers and rare words. `hybrid`: the dense ranking, with "
            "passages that contain the query's words moved up in proportion to that evidence; "
            "a query sharing no word with a passage leaves its dense rank alone. Default: the "
            "service's `search_mode` setting (hybrid unless configured), or dense for a "
            "collection indexed before lexical search existed; naming lexical or hybrid for "
            "such a collection answers 409 `no_lexical_index` with how to reindex."
        ),
    )

    highlight: bool = Field(
        default=True,
        strict=True,
        description="Give each result its `highlights`: the sentences of its text that best "
        "match the query, in any pair of languages. `false` leaves them out (null) and skips "
        "the work (one store read and a dot product per sentence of the results).",
    )

    _check_query = field_validator("query")(check_text)

    @field_validator("filter")
    @classmethod
    def _check_filter(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            parse_filter(value)
        return value

    @field_validator("group_by")
    @classmethod
    def _check_group_by(cls, value: str | None) -> str | None:
        return None if value is None else check_field(value)

    @model_validator(mode="after")
    def _one_language_condition(self) -> SearchRequest:
        if self.languages is not None and self.filter is not None and "language" in self.filter:
            raise ValueError("give `languages` or a `language` filter, not both")
        return self

    def conditions(self) -> Filter | None:
        """The `filter` as the store takes it (without `languages`)."""
        return parse_filter(self.filter) if self.filter else None

    @field_validator("languages")
    @classmethod
    def _check_languages(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("give at least one language code, or leave it out")
        for code in value:
            if not LANGUAGE_CODE.match(code):
                raise ValueError(f"{code!r} is not a language code")
        return value


class ResultGroup(BaseModel):
    key: str = Field(description="The `group_by` field.")
    value: str | int = Field(description="This result's value of it, shared by its group.")
    score: float = Field(
        description="What ranks the group: the mean score of its best passages matching the "
        "search, this one first, as many as the service's POLYSEARCH_GROUP_RANK_PASSAGES says "
        "(fewer where the group has fewer). With 1, the default, this passage's score; with 3, "
        "a group found by several translations comes before one found by a single passage."
    )
    size: int = Field(
        description="Passages in the group: this one and its siblings (e.g. the article in "
        "other languages), counted among those matching `filter` but in every language, "
        "whatever `languages` says."
    )
    languages: list[str] = Field(
        description="The language codes of the group's passages, sorted; search again with "
        "`filter` on the group's value to fetch them."
    )


class HighlightOut(BaseModel):
    start: int = Field(description="Offset of the sentence's first character in `text`.")
    end: int = Field(
        description="Offset just past its last character: the sentence is `text[start:end]` "
        "(Unicode code points, as Python and JSON count them; JavaScript strings count UTF-16 "
        "units, so convert with `Array.from(text)` for text outside the BMP)."
    )
    score: float = Field(
        description="How well the sentence matches the query: cosine similarity of the "
        "sentence's vector (pooled from its passage's encoding) and the query's, plus 0.1 x the "
        "share of the query's words it holds in lexical and hybrid modes; lexical mode: that "
        "share alone. A passage of one sentence scores the passage's cosine."
    )


class SearchResult(BaseModel):
    id: str = Field(description="The document id.")
    chunk: int = Field(description="Which passage of the document matched (0-based).")
    score: float = Field(
        description=(
            "dense: cosine similarity; lexical: BM25 score; hybrid: cosine similarity plus "
            "`hybrid_lexical_weight` x the BM25 score per distinct query term."
        )
    )
    text: str
    language: str | None
    language_name: str | None
    metadata: dict[str, Any]
    group: ResultGroup | None = Field(
        default=None, description="With `group_by`: the group this result is the best of."
    )
    highlights: list[HighlightOut] | None = Field(
        default=None,
        description="The sentences of `text` that best match the query, best first: the best "
        "one and those scoring within 0.02 of it (at most 3); a passage of one sentence is "
        "highlighted whole. Empty for passages indexed before highlights existed (index them "
        "again to get them); null when the request says `highlight: false`.",
    )


class SearchResponse(BaseModel):
    query: str
    collection: str
    model: str
    mode: SearchMode = Field(description="How the results were ranked (see the request's mode).")
    languages: list[str] | None = Field(
        default=None,
        description="The language codes searched, as the collection spells them: every stored "
        "code that the request's `languages` mean, and the requested codes themselves; null "
        "when the request named none.",
    )
    took_ms: float
    results: list[SearchResult]


TRUNCATE_DESCRIPTION = (
    "Cut a text longer than the model's window to the tokens that fit (as TEI does). "
    "Default false: such a text is a 413 `text_too_long`."
)


class EmbedRequest(StrictModel):
    texts: list[str] = Field(min_length=1)
    kind: Literal["query", "passage"] = "query"
    truncate: bool = Field(default=False, strict=True, description=TRUNCATE_DESCRIPTION)

    @field_validator("texts")
    @classmethod
    def _check_texts(cls, value: list[str]) -> list[str]:
        return [check_text(t) for t in value]


class EmbedResponse(BaseModel):
    embeddings: list[list[float]]
    model: str
    dim: int


class OpenAIEmbeddingsRequest(StrictModel):
    """The OpenAI embeddings request; `input_type` and `truncate` are our extensions."""

    input: str | list[str]
    model: str | None = None
    encoding_format: Literal["float", "base64"] = Field(
        default="float",
        description="`base64`: each embedding as the base64 of its little-endian float32 "
        "values, as OpenAI sends it (the official client asks for this by default).",
    )
    dimensions: int | None = Field(
        default=None,
        ge=1,
        description="Only the model's own dimension is accepted (its vectors are not trained "
        "to be shortened); any other value is a 422.",
    )
    user: str | None = None
    input_type: Literal["query", "passage"] = "passage"
    truncate: bool = Field(default=False, strict=True, description=TRUNCATE_DESCRIPTION)

    @field_validator("input", mode="before")
    @classmethod
    def _check_input_shape(cls, value: object) -> object:
        """One sentence for a wrong shape, before the union's errors (one per member, e.g.
        "input.str: Input should be a valid string (and 1 more)")."""
        if isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(t, str) for t in value)
        ):
            return value
        if isinstance(value, list) and any(isinstance(t, int | list) for t in value):
            raise ValueError(
                "token ids are not taken (OpenAI's arrays of integers): send the texts as strings"
            )
        raise ValueError("give a string or a list of strings")

    @field_validator("input")
    @classmethod
    def _check_input(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str):
            return check_text(value)
        if not value:
            raise ValueError("must hold at least one text")
        return [check_text(t) for t in value]


class OpenAIEmbedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str = Field(
        description="The vector, or with `encoding_format: base64` its float32 bytes in base64."
    )


class OpenAIUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class OpenAIEmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[OpenAIEmbedding]
    model: str
    usage: OpenAIUsage


class CollectionSummary(BaseModel):
    name: str
    dim: int
    points: int
    model: str | None = Field(
        default=None,
        description="The model whose vectors the collection holds (searching it with another "
        "model answers 409); null for collections created before it was recorded.",
    )


class CollectionsResponse(BaseModel):
    collections: list[CollectionSummary]


JobState = Literal["running", "done", "failed"]


class IndexingJob(BaseModel):
    collection: str = Field(description="The collection the job fills.")
    state: JobState = Field(
        description="`failed`: it stopped early (the reason is in the service's log); what it "
        "had indexed stays searchable."
    )
    documents_total: int | None = Field(
        description="Non-empty lines of the source file, bad ones included; null while counted."
    )
    documents_read: int = Field(description="Valid documents read so far.")
    documents_indexed: int = Field(description="Of those, written (new or changed).")
    documents_unchanged: int = Field(description="Of those, already stored unchanged: skipped.")
    documents_rejected: int = Field(description="Lines skipped as invalid (logged).")
    seconds: float = Field(description="Since the job started (until it ended).")


class IndexingResponse(BaseModel):
    jobs: list[IndexingJob] = Field(
        description="The start-up indexing of `POLYSEARCH_INDEX_ON_START` (`make run`'s demo "
        "corpus), if the service runs one: searches meanwhile see what is indexed so far."
    )


class LanguageCount(BaseModel):
    code: str
    name: str | None
    passages: int


class LanguagesResponse(BaseModel):
    collection: str
    languages: list[LanguageCount] = Field(
        description="By name (else code), case and leading punctuation aside: "
        '"(Bataknese)" comes under B.'
    )


class LanguageQuality(BaseModel):
    code: str
    name: str | None
    accuracy: float | None = Field(
        description="Held-out UDHR bitext retrieval accuracy@1 (mean of both directions)."
    )
    seen_in_pretraining: bool | None


class ModelLanguagesResponse(BaseModel):
    model: str
    evaluated: bool = Field(description="False when the model card carries no evaluation.")
    metric: str
    languages: list[LanguageQuality]


class UpsertDocumentsRequest(StrictModel):
    documents: list[Record] = Field(
        min_length=1,
        description="Each id at most once per request (a repeated id is a 422). A document's "
        "language goes in `language` (`lang` is accepted as an alias).",
    )

    @field_validator("documents")
    @classmethod
    def _ids_are_unique(cls, value: list[Record]) -> list[Record]:
        seen: set[str] = set()
        for record in value:
            if record.id in seen:
                raise ValueError(f"id {record.id!r} appears more than once in this request")
            seen.add(record.id)
        return value


class UpsertDocumentsResponse(BaseModel):
    collection: str
    documents: int
    chunks: int
    unchanged: int


class DocumentOut(BaseModel):
    id: str
    collection: str
    language: str | None
    metadata: dict[str, Any]
    chunks: list[str]


class DeletedResponse(BaseModel):
    collection: str
    id: str
    chunks_deleted: int


class CollectionDeletedResponse(BaseModel):
    collection: str
    points_deleted: int = Field(description="Passages the collection held when it was deleted.")


class Health(BaseModel):
    status: Literal["ok", "loading", "error"]
    detail: str | None = None


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the JSON errors a route can return."""
    return {status: {"model": ErrorResponse} for status in statuses}
