"""Why a kiosk face login did not pass, and what the person should do: the one table of failure reasons.

The challenge fails with its reasons (`ChallengeSession.reason`); the web route adds its own (the face
is not enrolled, the stream or session is unusable, the kiosk is locked out, liveness is not installed,
an error); the kiosk page has a few that only it can see (no camera, the connection dropped, a check
that could not start). The route sends `message_for(reason)` with every result, and the kiosk page
gets this table from the server (rendered into the page) for its own cases: neither keeps a copy.
The server's reasons are part of the kiosk protocol (docs/api.md): a new reason gets its message here.
"""

from __future__ import annotations

from whosthat.i18n import N_

# Every text here is English and marked for the catalogues (N_): the API sends the English message with
# the reason code; the kiosk page shows the reason's message in its own language (pages/kiosk.py
# renders this table translated into the page).

MESSAGES: dict[str, str] = {
    # The challenge (liveness.challenge)
    "timeout": N_(
        "Time ran out before all the steps were done. Please try again and follow each step as it appears."
    ),
    "face_lost": N_("We lost sight of your face. Please try again and keep your face inside the oval."),
    "face_changed": N_("The face changed during the check. Please try again, one person at a time."),
    "multiple_faces": N_("More than one face was in view. Please try again, one person at a time."),
    "no_blink": N_(
        "We did not see a blink. Please try again and close both eyes fully for a moment when asked."
    ),
    "no_head_turn": N_(
        "We did not see your head turn. Please try again and turn your head the way the arrow points, "
        "then look back at the camera."
    ),
    "print_attack": N_(
        "We could not confirm a live face: photos and screens are not accepted. If this is you, face the "
        "light and stand about an arm's length from the camera, then try again."
    ),
    "frame_timing": N_(
        "The camera picture was interrupted. Please try again; if it keeps happening, ask an administrator."
    ),
    "bad_frame": N_(
        "The camera sent an unreadable picture. Please try again; if it keeps happening, ask an administrator."
    ),
    # The web route
    "not_recognised": N_("We do not recognise you. Please ask an administrator to register you."),
    "ambiguous": N_(
        "We could not tell you apart from another registered person, so nobody was logged in. "
        "Please try again, or ask an administrator to add more photos of you."
    ),
    "invalid_session": N_("This check is not valid any more. Please start again."),
    "locked_out": N_("Too many failed attempts. Please wait a moment, then try again."),
    "unavailable": N_("Face login is not available on this server. Please ask an administrator."),
    "error": N_("Something went wrong on our side. Please try again in a moment."),
    # The kiosk page
    "camera": N_("The camera is not available on this kiosk. Please ask an administrator to check it."),
    "connection": N_("The connection to the server was lost. Please try again."),
    "start_failed": N_("The kiosk could not start a check. Please try again in a moment."),
    # The kiosk's PIN login
    "pin_wrong": N_(
        "Employee code or PIN is wrong. Please check both and try again, or ask an administrator."
    ),
    "pin_invalid": N_("Please enter your employee code and your PIN."),
    "kiosk_not_paired": N_(
        "This browser is no longer a paired kiosk. Please ask an administrator to pair it again."
    ),
    # Any other reason
    "failed": N_("The check did not pass. Please try again."),
}

# bad_frame, when the frame is over liveness.frame's size limits (bytes or pixels).
FRAME_TOO_LARGE = "frame too large: send JPEG frames of at most 1280x720 (the kiosk page sends 640x480)"


# What a live person refused as a print attack can change, measured on the frames that were scored
# (liveness.pad_fusion.FusedPadScore.advice); it replaces the general hint of the print_attack message.
ADVICE: dict[str, str] = {
    "dark": N_("Your face is too dark: turn on a light or face the window, then try again."),
    "backlit": N_("The light is behind you: turn so that it falls on your face, then try again."),
    "far": N_("You are too far away: come closer, about an arm's length from the camera, then try again."),
    "near": N_("You are too close: step back a little so your whole face is in the picture, then try again."),
}


# A print attack refused with advice: this sentence, then the advice.
PRINT_ATTACK_REFUSED = N_("We could not confirm a live face: photos and screens are not accepted.")


def message_for(reason: str | None, advice: str | None = None) -> str:
    """What the person reads for `reason`; the generic "failed" message for a reason not in the table.
    `advice` (a key of ADVICE) makes a print_attack message say what to change."""
    if reason == "print_attack" and advice in ADVICE:
        return PRINT_ATTACK_REFUSED + " " + ADVICE[advice]
    return MESSAGES.get(reason or "failed", MESSAGES["failed"])
