"""The Engine API's requests about secrets, configs and networks (api/engine/data.py,
networks.py): their query parameters and the bodies Docker's clients send, before they
become swarmlet's SecretSpec, ConfigSpec and NetworkSpec.

Go's JSON decoder ignores a field it does not know, so the bodies do too (extra="ignore");
the fields named here are typed, and the translation refuses those swarmlet cannot honour.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from swarmlet.spec.base import LabelMap, OptionMap, ShortText
from swarmlet.spec.data_models import MAX_DATA_CHARS
from swarmlet.spec.engine.base import EngineQuery
from swarmlet.spec.limits import MAX_LIST, MAX_STRING
from swarmlet.spec.query_models import Flag, Index

Filters = Annotated[str, Field(max_length=MAX_STRING)]


class ListQuery(EngineQuery):
    """GET /secrets, /configs, /networks."""

    filters: Filters | None = None


class UpdateQuery(EngineQuery):
    """POST /secrets/{id}/update, /configs/{id}/update: the version read."""

    version: Index


class NetworkInspectQuery(EngineQuery):
    """GET /networks/{id}."""

    verbose: Flag | None = None
    scope: Annotated[str, Field(pattern=r"^(swarm|global|local)$")] | None = None


class EngineBody(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, str_max_length=MAX_STRING)


class DriverRef(EngineBody):
    Name: ShortText | None = None
    Options: OptionMap | None = None


class DataBody(EngineBody):
    """Docker's SecretSpec / ConfigSpec (POST /secrets/create, /configs/create, .../update)."""

    Name: ShortText | None = None
    Labels: LabelMap | None = None
    Data: Annotated[str, Field(max_length=MAX_DATA_CHARS)] | None = None
    Driver: DriverRef | None = None
    Templating: DriverRef | None = None


class IPAMPool(EngineBody):
    Subnet: ShortText | None = None
    IPRange: ShortText | None = None
    Gateway: ShortText | None = None
    AuxiliaryAddresses: OptionMap | None = None


class IPAMBody(EngineBody):
    Driver: ShortText | None = None
    Config: Annotated[list[IPAMPool], Field(max_length=MAX_LIST)] | None = None
    Options: OptionMap | None = None


class NetworkCreateBody(EngineBody):
    """Docker's NetworkCreateRequest (POST /networks/create)."""

    Name: ShortText
    CheckDuplicate: bool | None = None
    Driver: ShortText | None = None
    Scope: ShortText | None = None
    EnableIPv6: bool | None = None
    EnableIPv4: bool | None = None
    IPAM: IPAMBody | None = None
    Internal: bool | None = None
    Attachable: bool | None = None
    Ingress: bool | None = None
    ConfigOnly: bool | None = None
    ConfigFrom: dict[str, Any] | None = None
    Options: OptionMap | None = None
    Labels: LabelMap | None = None


class ConnectBody(EngineBody):
    """POST /networks/{id}/connect and /disconnect: dockerd's, passed on as sent."""

    Container: ShortText
    EndpointConfig: dict[str, Any] | None = None
    Force: bool | None = None
