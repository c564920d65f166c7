"""Why a kiosk face login did not pass, and what the person should do: the one table of failure reasons.

The challenge fails with its reasons (`ChallengeSession.reason`); the web route adds its own (the face
is not enrolled, the stream or session is unusable, the kiosk is locked out, liveness is not installed,
an error); the kiosk page has a few that only it can see (no camera, the connection dropped, a check
that could not start). The route sends `message_for(reason)` with every result, and the kiosk page
gets this table from the server (rendered into the page) for its own cases: neither keeps a copy.
The server's reasons are part of the kiosk protocol (docs/api.md): a new reason gets its message here.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # The challenge (liveness.challenge)
    "timeout": "Time ran out before all the steps were done. Please try again and follow each step as it appears.",
    "face_lost": "We lost sight of your face. Please try again and keep your face inside the oval.",
    "face_changed": "The face changed during the check. Please try again, one person at a time.",
    "multiple_faces": "More than one face was in view. Please try again, one person at a time.",
    "no_blink": "We did not see a blink. Please try again and close both eyes fully for a moment when asked.",
    "no_head_turn": (
        "We did not see your head turn. Please try again and turn your head the way the arrow points, "
        "then look back at the camera."
    ),
    "print_attack": (
        "We could not confirm a live face: photos and screens are not accepted. If this is you, face the "
        "light and stand about an arm's length from the camera, then try again."
    ),
    "frame_timing": "The camera picture was interrupted. Please try again; if it keeps happening, ask an administrator.",
    "bad_frame": "The camera sent an unreadable picture. Please try again; if it keeps happening, ask an administrator.",
    # The web route
    "not_recognised": "We do not recognise you. Please ask an administrator to register you.",
    "ambiguous": (
        "We could not tell you apart from another registered person, so nobody was logged in. "
        "Please try again, or ask an administrator to add more photos of you."
    ),
    "invalid_session": "This check is not valid any more. Please start again.",
    "locked_out": "Too many failed attempts. Please wait a moment, then try again.",
    "unavailable": "Face login is not available on this server. Please ask an administrator.",
    "error": "Something went wrong on our side. Please try again in a moment.",
    # The kiosk page
    "camera": "The camera is not available on this kiosk. Please ask an administrator to check it.",
    "connection": "The connection to the server was lost. Please try again.",
    "start_failed": "The kiosk could not start a check. Please try again in a moment.",
    # Any other reason
    "failed": "The check did not pass. Please try again.",
}

# bad_frame, when the frame is over liveness.frame's size limits (bytes or pixels).
FRAME_TOO_LARGE = "frame too large: send JPEG frames of at most 1280x720 (the kiosk page sends 640x480)"


# What a live person refused as a print attack can change, measured on the frames that were scored
# (liveness.pad_fusion.FusedPadScore.advice); it replaces the general hint of the print_attack message.
ADVICE: dict[str, str] = {
    "dark": "Your face is too dark: turn on a light or face the window, then try again.",
    "backlit": "The light is behind you: turn so that it falls on your face, then try again.",
    "far": "You are too far away: come closer, about an arm's length from the camera, then try again.",
    "near": "You are too close: step back a little so your whole face is in the picture, then try again.",
}


def message_for(reason: str | None, advice: str | None = None) -> str:
    """What the person reads for `reason`; the generic "failed" message for a reason not in the table.
    `advice` (a key of ADVICE) makes a print_attack message say what to change."""
    if reason == "print_attack" and advice in ADVICE:
        return "We could not confirm a live face: photos and screens are not accepted. " + ADVICE[advice]
    return MESSAGES.get(reason or "failed", MESSAGES["failed"])
