"""Typed models of SecretSpec and ConfigSpec (/secrets, /configs), Docker's field names.
Data is base64; its size is checked by the manager with Docker's message."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from swarmlet.spec.base import LabelMap, OptionMap, ShortText, Strict

# base64 of Docker's largest config (1000 KiB), with room for line breaks
MAX_DATA_CHARS = 1_400_000


class DataSpec(Strict):
    Name: ShortText | None = None
    Labels: LabelMap | None = None
    Data: Annotated[str, Field(max_length=MAX_DATA_CHARS)] | None = None


class SecretSpec(DataSpec):
    """The body of POST /secrets/create and /secrets/{id}/update."""


class Driver(Strict):
    Name: ShortText
    Options: OptionMap | None = None


class ConfigSpec(DataSpec):
    """The body of POST /configs/create and /configs/{id}/update. `Templating` {"Name":
    "golang"} (Docker's template driver): the worker renders the data for each task
    (worker/config_templates.py); the manager refuses other drivers."""

    Templating: Driver | None = None
