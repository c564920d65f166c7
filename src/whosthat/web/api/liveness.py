"""Kiosk face login: liveness challenge sessions over HTTP + WebSocket (protocol in docs/api.md).

POST /api/v1/liveness/sessions starts a server-side challenge (`whosthat.liveness.challenge`); the kiosk
streams JPEG frames over the WebSocket; every decision is made on the server. Only a challenge that
the liveness module declares passed is searched in the gallery, clocks the person and issues a one-time
login ticket (services/kiosk_login.py). If the liveness module is not installed the kiosk gets 503
"liveness unavailable": there is no fallback that logs anyone in without it. Every result carries the
message of its reason from `whosthat.liveness.outcomes`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from whosthat.errors import BadInputError, ImageTooLargeError
from whosthat.liveness.frame import MAX_FRAME_PIXELS
from whosthat.liveness.outcomes import FRAME_TOO_LARGE, message_for
from whosthat.services import kiosk_login
from whosthat.services.common import Context
from whosthat.services.errors import PayloadTooLargeError
from whosthat.web.api import PREFIX
from whosthat.web.deps import Ctx, PairedKiosk

log = logging.getLogger("whosthat.web.liveness")
router = APIRouter(prefix=f"{PREFIX}/liveness", tags=["liveness"])

MAX_FRAME_BYTES = 1_000_000  # a 640x480 JPEG is 30-100 kB
POLL_S = 0.5  # how long the socket waits for a frame before letting the session check its clock


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kiosk: str = Field(
        default=kiosk_login.DEFAULT_KIOSK, min_length=1, max_length=kiosk_login.KIOSK_NAME_MAX_LENGTH
    )


@router.post("/sessions", status_code=201, summary="Start a kiosk liveness challenge (no API key needed)")
def create_session(body: SessionIn, ctx: Ctx, kiosk: PairedKiosk) -> JSONResponse:
    """201 {"id", "nonce", "steps", "prompts", "expires_at", "frame_interval_ms", "ws_url"}; 403
    kiosk_not_paired unless the browser holds a paired kiosk's device cookie (the session is that
    kiosk's, whatever name the body gives); 429 with Retry-After while the kiosk or address is locked out
    or starts sessions too fast; 503 when liveness is not installed."""
    session = kiosk_login.start_challenge(ctx, kiosk.name)
    body_out = dict(session.public())
    body_out["ws_url"] = f"{PREFIX}/liveness/sessions/{session.id}?nonce={session.nonce}"
    return JSONResponse(body_out, status_code=201, headers={"Cache-Control": "no-store"})


class PresenceOut(BaseModel):
    face: bool


@router.post(
    "/presence",
    summary="Is a face in view? The kiosk's automatic start (no API key needed)",
    response_model=PresenceOut,
)
async def presence(request: Request, ctx: Ctx, kiosk: PairedKiosk) -> dict:
    """Body: one JPEG frame (at most 1280x720, under 1 MB; the kiosk sends 320x240 about once a second
    while it waits). 200 {"face": true} when a face close enough to the camera is in view; 400/413/422
    for a missing, oversized or unreadable frame; 429 with Retry-After when asked too often. Nothing is
    stored and nothing counts toward the face-login lockout. 403 kiosk_not_paired unless the browser
    holds a paired kiosk's device cookie."""
    from whosthat.vision.image import decode_image

    data = await request.body()
    if not data:
        raise BadInputError("send one JPEG frame as the request body")
    if len(data) > MAX_FRAME_BYTES:
        raise PayloadTooLargeError(FRAME_TOO_LARGE)
    rgb = await run_in_threadpool(decode_image, data, MAX_FRAME_PIXELS, None)
    return {"face": await run_in_threadpool(kiosk_login.face_in_view, ctx, rgb)}


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if not origin:
        return True  # not a browser (a browser always sends Origin on WebSocket upgrades)
    host = websocket.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


def _failed(reason: str, message: str | None = None) -> dict:
    return {"reason": reason, "message": message or message_for(reason)}


async def _finish(websocket: WebSocket, result: dict) -> None:
    result = {
        "type": "result",
        "passed": False,
        "reason": None,
        "message": "",
        "person": None,
        "event": None,
        "recorded": False,
        "last_event": None,
        "redirect": None,
        **result,
    }
    try:
        await websocket.send_json(result)
        await websocket.close(code=1000)
    except (WebSocketDisconnect, RuntimeError):
        pass


def _conclude(runtime, kiosk: str, address: str, session) -> dict:
    """Runs in a worker thread after the challenge ended: the login, or the recorded failure."""
    with Context.open(runtime, address) as ctx:
        outcome = kiosk_login.conclude_challenge(ctx, kiosk, session)
    if outcome.login is None:
        return {
            "passed": False,
            **_failed(outcome.reason, message_for(outcome.reason, outcome.advice)),
            "advice": outcome.advice if outcome.reason == "print_attack" else None,
        }
    login = outcome.login
    p = login.person
    return {
        "passed": True,
        "reason": None,
        "message": login.message,
        "person": {"id": p.id, "name": p.name, "surname": p.surname},
        **clocking_fields(login.event, login.recorded),
        "redirect": f"/me/enter?ticket={login.ticket}",
    }


def clocking_fields(event, recorded: bool) -> dict:
    """A passed kiosk login's event fields (the WebSocket result, the PIN login): `recorded` false when
    the repeat window held (nothing recorded: `event` null); `last_event` the person's latest event,
    the new one or the one inside the window."""
    last = {"kind": event.kind, "at": event.at.isoformat(), "source": event.source, "kiosk": event.kiosk}
    return {"recorded": recorded, "event": last if recorded else None, "last_event": last}


def _record_failure(runtime, kiosk: str, address: str, reason: str) -> None:
    with Context.open(runtime, address) as ctx:
        kiosk_login.record_failure(ctx, kiosk, reason)


def _locked_out(runtime, kiosk: str, address: str) -> bool:
    with Context.open(runtime, address) as ctx:
        return kiosk_login.locked_out_for(ctx, kiosk) > 0


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
        await _finish(websocket, _failed("unavailable"))
        return
    session = store.get(session_id) if len(session_id) <= 128 else None
    if session is None or not session.check_nonce(nonce):
        await _finish(websocket, _failed("invalid_session"))
        return
    # A session runs once, on one replica: a second WebSocket for it (here or elsewhere) is refused.
    if not await run_in_threadpool(store.claim, session.id):
        await _finish(websocket, _failed("invalid_session"))
        return
    kiosk = session.kiosk
    # Locked out meanwhile (e.g. failures on another session): refuse before doing any work.
    if _locked_out(runtime, kiosk, address):
        await _finish(websocket, _failed("locked_out"))
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
                result = _failed("bad_frame", FRAME_TOO_LARGE)
                break
            try:
                # The frame limit is the decoder's pixel budget: a larger header is refused unread.
                rgb = await run_in_threadpool(decode_image, data, MAX_FRAME_PIXELS, None)
            except ImageTooLargeError:
                result = _failed("bad_frame", FRAME_TOO_LARGE)
                break
            except BadInputError:
                result = _failed("bad_frame")
                break
            for out in await run_in_threadpool(session.process_frame, rgb, arrived):
                await websocket.send_json(out)
        if result is not None:
            # A malformed stream counts as a failed attempt too.
            await run_in_threadpool(_record_failure, runtime, kiosk, address, result["reason"])
        elif not session.done:
            await run_in_threadpool(_record_failure, runtime, kiosk, address, "timeout")
            result = _failed("timeout")
        else:
            result = await run_in_threadpool(_conclude, runtime, kiosk, address, session)
    except WebSocketDisconnect:
        store.discard(session.id)
        return
    except Exception:
        log.exception("liveness session %s failed", session.id)
        result = _failed("error")
    finally:
        reader.cancel()
        store.discard(session.id)
    await _finish(websocket, result)
