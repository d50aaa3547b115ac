"""The base of the Engine API's query models. Docker ignores a query parameter it does not
know (clients send ones older daemons lack), so these do too; the ones they name are typed
and checked like any other (spec/query_models.py's patterns)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class EngineQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
