"""The building blocks of the spec models: a strict base model and the constrained types
every body shares (durations, labels, ports), with the documented caps (docs/api.md).

Strict as Go's JSON decoding is: a string is not a number, a number is not a boolean, and a
field the model does not know is refused rather than silently dropped.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from swarmlet.spec.limits import (
    MAX_ID,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    MAX_LIST,
    MAX_NAME_FIELD,
    MAX_STRING,
)

INT64_MAX = 2**63 - 1


class Strict(BaseModel):
    """Docker's field names, no unknown fields, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False,
                              str_max_length=MAX_STRING)


# A string of a bounded length (names, images, paths).
Text = Annotated[str, StringConstraints(max_length=MAX_STRING)]
ShortText = Annotated[str, StringConstraints(max_length=MAX_NAME_FIELD)]
Ident = Annotated[str, StringConstraints(max_length=MAX_ID)]
# Go's durations: int64 nanoseconds; the API takes no negative ones.
Duration = Annotated[int, Field(ge=0, le=INT64_MAX)]
NonNegative = Annotated[int, Field(ge=0, le=INT64_MAX)]
Int64 = Annotated[int, Field(ge=-INT64_MAX - 1, le=INT64_MAX)]
Port = Annotated[int, Field(ge=1, le=65535)]
PortOrZero = Annotated[int, Field(ge=0, le=65535)]
LabelMap = Annotated[
    dict[Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_FIELD)],
         Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE)]],
    Field(max_length=MAX_LABELS)]
OptionMap = Annotated[dict[ShortText, Text], Field(max_length=MAX_LABELS)]
TextList = Annotated[list[Text], Field(max_length=MAX_LIST)]
