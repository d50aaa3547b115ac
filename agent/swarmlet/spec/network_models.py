"""Typed models of NetworkSpec (POST /networks/create), with Docker's field names."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from swarmlet.spec.base import LabelMap, OptionMap, ShortText, Strict

IPAM_CONFIGS = 16  # one is used; more are refused with Docker's message by the manager


class NetworkDriver(Strict):
    Name: ShortText | None = None
    Options: OptionMap | None = None


class IPAMConfig(Strict):
    Subnet: ShortText | None = None
    Range: ShortText | None = None
    Gateway: ShortText | None = None


class IPAMOptions(Strict):
    Driver: NetworkDriver | None = None
    Configs: Annotated[list[IPAMConfig], Field(max_length=IPAM_CONFIGS)] | None = None


_IPAMOptions = IPAMOptions


class NetworkSpec(Strict):
    Name: ShortText
    Labels: LabelMap | None = None
    DriverConfiguration: NetworkDriver | None = None
    IPv6Enabled: bool | None = None
    Internal: bool | None = None
    Attachable: bool | None = None
    Ingress: bool | None = None
    IPAMOptions: _IPAMOptions | None = None
    Scope: ShortText | None = None
