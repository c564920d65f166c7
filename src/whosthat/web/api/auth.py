"""Session sign-in for browser scripts and tests (the HTML pages have their own form)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from whosthat.services import access
from whosthat.services.access import USERNAME_MAX_LENGTH
from whosthat.web.api import PREFIX
from whosthat.web.deps import Ctx, login_admin, logout

router = APIRouter(prefix=PREFIX, tags=["auth"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=USERNAME_MAX_LENGTH)
    password: str = Field(min_length=1, max_length=1024)


class LoginOut(BaseModel):
    username: str
    role: str
    csrf_token: str  # send it as X-CSRF-Token on unsafe requests made with the session cookie


@router.post(
    "/auth/login",
    response_model=LoginOut,
    summary="Start an admin session (cookie); returns the CSRF token for unsafe calls",
)
def login(body: LoginIn, request: Request, ctx: Ctx) -> LoginOut:
    admin = access.authenticate_admin(ctx, body.username, body.password)
    login_admin(request, ctx, admin)
    return LoginOut(username=admin.username, role=admin.role, csrf_token=request.session["csrf"])


@router.post("/auth/logout", status_code=204, summary="End the session")
def logout_route(request: Request, ctx: Ctx) -> Response:
    logout(request, ctx)
    return Response(status_code=204)
