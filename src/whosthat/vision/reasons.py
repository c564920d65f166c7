"""What the enrolment quality check says, by code (kept apart from vision/quality.py, which needs
OpenCV, so that a page can list the texts without loading the vision stack).

The API says the code, its values and the English text; the capture widget (static/js/capture.js)
shows the code's text in the page's language with the same values.
"""

from __future__ import annotations

from whosthat.i18n import N_

# The enrolment quality rules (vision/quality.py)
REASONS = {
    "face_too_small": N_("face too small (%(size)s px, need %(need)s): move closer or use a larger photo"),
    "too_blurry": N_("image too blurry (sharpness %(sharpness)s, need %(need)s): hold still, focus"),
    "not_frontal": N_("face not frontal (turned %(degrees)s degrees): look straight at the camera"),
    "tilted": N_("head tilted %(degrees)s degrees: keep the head upright"),
    "too_dark": N_("face too dark: add light in front of the face"),
    "overexposed": N_("face overexposed: reduce the light or move out of direct sun"),
}
# What pipeline.dominant_face says (the errors' codes no_face and multiple_faces)
NO_FACE = N_("no face found: face the camera, with your whole face in the picture")
MULTIPLE_FACES = N_("%(num)s faces found: one person at a time, please")
