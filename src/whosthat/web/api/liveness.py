"""Kiosk face login: liveness challenge sessions over HTTP + WebSocket (protocol in docs/api.md).

POST /api/v1/liveness/sessions starts a server-side challenge (`whosthat.liveness.challenge`); the kiosk
streams JPEG frames over the WebSocket; every decision is made here on the server. Only a challenge that
the liveness module declares passed is searched in the gallery, clocks the person and issues a one-time
login ticket. If the liveness module is not installed the kiosk gets 503 "liveness unavailable": there is
no fallback that logs anyone in without it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from whosthat.errors import BadInputError
from whosthat.web import security
from whosthat.web.deps import Svc, client_address
from whosthat.web.errors import LockedOutError, UnavailableError
from whosthat.web.services import Services

log = logging.getLogger("whosthat.web.liveness")
router = APIRouter(prefix="/api/v1/liveness", tags=["liveness"])

KIOSK_NAME = re.compile(r"^[A-Za-z0-9 ._-]{1,64}$")
MAX_FRAME_BYTES = 1_000_000
MAX_FRAME_PIXELS = 1280 * 720
POLL_S = 0.5


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kiosk: str = Field(default="kiosk", min_length=1, max_length=64)


def _store_or_fail(request_app):
    store = request_app.state.runtime.challenges()
    if store is None:
        raise UnavailableError(
            "liveness unavailable: the liveness module (whosthat.liveness.challenge) "
            "is not installed on this server, so face login is off"
        )
    return store


@router.post("/sessions", status_code=201, summary="Start a kiosk liveness challenge (no API key needed)")
def create_session(body: SessionIn, request: Request, svc: Svc) -> JSONResponse:
    """201 {"id", "nonce", "steps", "prompts", "expires_at", "frame_interval_ms", "ws_url"}; 429 with
    Retry-After while the kiosk or address is locked out or starts sessions too fast."""
    kiosk = body.kiosk.strip()
    if not KIOSK_NAME.match(kiosk):
        raise BadInputError("kiosk name: 1-64 letters, digits, spaces, dots, dashes or underscores")
    address = client_address(request)
    svc.face_login_check(kiosk)
    for key in (f"address:{address}", f"kiosk:{kiosk}"):
        state = svc.rt.session_limiter.hit(key)
        if state.locked:
            raise LockedOutError(
                f"too many login attempts: try again in {state.retry_after_s} s", state.retry_after_s
            )
    store = _store_or_fail(request.app)
    settings = svc.rt.settings
    pipeline = svc.rt.pipeline()
    session = store.create(
        kiosk,
        n_steps=settings.liveness_steps,
        timeout_s=settings.liveness_timeout_s,
        pad_mode=settings.pad_mode,
        pipeline=pipeline,
        match_threshold=svc.rt.threshold(pipeline),
    )
    body_out = dict(session.public())
    body_out["ws_url"] = f"/api/v1/liveness/sessions/{session.id}?nonce={session.nonce}"
    svc.rt.metrics.inc("whosthat_liveness_sessions_total", "liveness sessions started")
    return JSONResponse(body_out, status_code=201, headers={"Cache-Control": "no-store"})


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if not origin:
        return True  # not a browser (a browser always sends Origin on WebSocket upgrades)
    host = websocket.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


async def _finish(websocket: WebSocket, result: dict) -> None:
    result = {
        "type": "result",
        "passed": False,
        "reason": None,
        "message": "",
        "person": None,
        "event": None,
        "redirect": None,
        **result,
    }
    try:
        await websocket.send_json(result)
        await websocket.close(code=1000)
    except (WebSocketDisconnect, RuntimeError):
        pass


_REASON_MESSAGES = {
    "timeout": "Time is up: please try again",
    "face_lost": "Your face left the picture: please try again",
    "face_changed": "A different face appeared: one person at a time",
    "no_blink": "No blink seen: please try again and blink slowly",
    "print_attack": "This does not look like a live face",
    "frame_timing": "The camera stream was irregular: please try again",
    "not_recognised": "Face not recognised: ask an administrator to register you",
    "bad_frame": "The camera sent an unreadable picture",
    "invalid_session": "This login session is not valid any more: start again",
    "locked_out": "Too many failed attempts: please wait and try again later",
    "unavailable": "Liveness check unavailable on this server",
}


def _conclude(runtime, kiosk: str, address: str, session) -> dict:
    """Runs in a worker thread after the challenge ended: recognise, clock, ticket; or record the failure."""
    with runtime.database.session() as db:
        svc = Services(runtime, db, address=address)
        summary = session.summary()
        if not session.passed:
            reason = session.reason or "failed"
            svc.face_login_failed(kiosk, reason, {"steps": summary.get("steps")})
            return {
                "passed": False,
                "reason": reason,
                "message": _REASON_MESSAGES.get(reason, "Please try again"),
            }
        face = session.recognition()
        login = None
        if face is not None:
            login = svc.complete_kiosk_login(
                kiosk=kiosk, embedding=face.embedding, model=face.model, liveness=summary
            )
        if login is None:
            svc.face_login_failed(kiosk, "not_recognised")
            return {
                "passed": False,
                "reason": "not_recognised",
                "message": _REASON_MESSAGES["not_recognised"],
            }
        p = login.person
        return {
            "passed": True,
            "reason": None,
            "message": login.message,
            "person": {"id": p.id, "name": p.name, "surname": p.surname},
            "event": {"kind": login.event.kind, "at": login.event.at.isoformat()},
            "redirect": f"/me/enter?ticket={login.ticket}",
        }


@router.websocket("/sessions/{session_id}")
async def challenge_socket(websocket: WebSocket, session_id: str, nonce: str = "") -> None:
    """Binary messages in (one JPEG frame each); JSON guidance/prompt/progress out; exactly one result."""
    runtime = websocket.app.state.runtime
    address = websocket.client.host if websocket.client else "-"
    if not _same_origin(websocket):
        await websocket.close(code=4403)
        return
    await websocket.accept()
    store = runtime.challenges()
    if store is None:
        await _finish(websocket, {"reason": "unavailable", "message": _REASON_MESSAGES["unavailable"]})
        return
    session = store.get(session_id) if len(session_id) <= 128 else None
    if session is None or not nonce or not security.constant_time_equals(nonce, session.nonce):
        await _finish(
            websocket, {"reason": "invalid_session", "message": _REASON_MESSAGES["invalid_session"]}
        )
        return
    kiosk = session.kiosk
    # Locked out meanwhile (e.g. failures on another session): refuse before doing any work.
    locked = [runtime.face_limiter.check(k) for k in (f"kiosk:{kiosk}", f"address:{address}")]
    if any(s.locked for s in locked):
        await _finish(websocket, {"reason": "locked_out", "message": _REASON_MESSAGES["locked_out"]})
        store.discard(session.id)
        return
    from whosthat.vision.image import decode_image

    result: dict | None = None
    # Frames are timed when they arrive, not when the (slower, serial) analysis gets to them: a reader
    # task stamps each message on receipt. Otherwise a slow frame (the first one loads the face mesh, a
    # key frame is embedded) makes the frames queued behind it look like a burst or a gap (frame_timing).
    inbox: asyncio.Queue = asyncio.Queue(maxsize=64)

    async def read_frames() -> None:
        try:
            while True:
                message = await websocket.receive()
                await inbox.put((time.time(), message))
                if message["type"] == "websocket.disconnect":
                    return
        except (WebSocketDisconnect, RuntimeError):
            await inbox.put((time.time(), {"type": "websocket.disconnect"}))

    reader = asyncio.create_task(read_frames())
    try:
        while not session.done:
            if time.time() > session.expires_at + 2.0:
                break  # belt and braces: the session should have failed itself by now
            try:
                arrived, message = await asyncio.wait_for(inbox.get(), timeout=POLL_S)
            except TimeoutError:
                # No frame for a while: let the session fail on expiry or a stalled stream.
                for out in session.poll(time.time()):
                    await websocket.send_json(out)
                continue
            if message["type"] == "websocket.disconnect":
                store.discard(session.id)
                return
            data = message.get("bytes")
            if data is None:
                continue  # text messages (keep-alives) carry nothing the server trusts
            if len(data) > MAX_FRAME_BYTES:
                result = {
                    "reason": "bad_frame",
                    "message": "frame too large: send JPEG frames of at most 640x480",
                }
                break
            try:
                rgb = await run_in_threadpool(decode_image, data)
            except BadInputError:
                result = {"reason": "bad_frame", "message": _REASON_MESSAGES["bad_frame"]}
                break
            if rgb.shape[0] * rgb.shape[1] > MAX_FRAME_PIXELS:
                result = {
                    "reason": "bad_frame",
                    "message": "frame too large: send JPEG frames of at most 640x480",
                }
                break
            for out in await run_in_threadpool(session.process_frame, rgb, arrived):
                await websocket.send_json(out)
        if result is not None:
            # A malformed stream counts as a failed attempt too.
            await run_in_threadpool(_record_failure, runtime, kiosk, address, result["reason"])
        elif not session.done:
            await run_in_threadpool(_record_failure, runtime, kiosk, address, "timeout")
            result = {"reason": "timeout", "message": _REASON_MESSAGES["timeout"]}
        else:
            result = await run_in_threadpool(_conclude, runtime, kiosk, address, session)
    except WebSocketDisconnect:
        store.discard(session.id)
        return
    except Exception:
        log.exception("liveness session %s failed", session.id)
        result = {"reason": "error", "message": "Something went wrong: please try again"}
    finally:
        reader.cancel()
        store.discard(session.id)
    await _finish(websocket, result)


def _record_failure(runtime, kiosk: str, address: str, reason: str) -> None:
    with runtime.database.session() as db:
        Services(runtime, db, address=address).face_login_failed(kiosk, reason)
