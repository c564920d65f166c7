"""API keys (admin scope): list, create (the key is shown once), revoke; and the scopes a key can carry."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from whosthat.services import access
from whosthat.services.access import KEY_NAME_MAX_LENGTH
from whosthat.services.common import SCOPES
from whosthat.web.api import PREFIX
from whosthat.web.deps import AdminScope, Ctx, RowId

router = APIRouter(prefix=PREFIX, tags=["admin"])


ScopeName = Literal[tuple(SCOPES)]  # an enum in the API document


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=KEY_NAME_MAX_LENGTH)
    scopes: list[ScopeName] = Field(min_length=1, description=f"any of: {', '.join(SCOPES)}")


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    created_by: str | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, k) -> ApiKeyOut:
        return cls(
            id=k.id,
            name=k.name,
            prefix=k.prefix,
            scopes=k.scope_list,
            created_at=k.created_at,
            created_by=k.created_by,
            last_used_at=k.last_used_at,
            revoked_at=k.revoked_at,
        )


class NewApiKeyOut(ApiKeyOut):
    key: str  # the plaintext key: shown this once, only its hash is stored


@router.get("/apikeys", response_model=list[ApiKeyOut], summary="API keys (hashes are never shown)")
def list_keys(ctx: Ctx, actor: AdminScope) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(k) for k in access.list_api_keys(ctx)]


@router.post(
    "/apikeys",
    status_code=201,
    response_model=NewApiKeyOut,
    summary="Create an API key (the key is shown once)",
)
def create_key(body: ApiKeyIn, ctx: Ctx, actor: AdminScope) -> NewApiKeyOut:
    row, key = access.create_api_key(ctx, body.name, body.scopes, actor=actor)
    return NewApiKeyOut(**ApiKeyOut.of(row).model_dump(), key=key)


@router.delete("/apikeys/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(key_id: RowId, ctx: Ctx, actor: AdminScope) -> Response:
    access.revoke_api_key(ctx, key_id, actor=actor)
    return Response(status_code=204)


@router.get("/scopes", response_model=dict[str, str], summary="The scopes an API key can carry")
def scopes() -> dict[str, str]:
    return SCOPES
