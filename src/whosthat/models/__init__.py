"""Model files and the zoo.

This folder ships the project's own small models (ONNX files, each with a card) and calibration data;
`whosthat.models.zoo` lists every model the app can use, shipped here, exported by the user to
`$WHOSTHAT_HOME/models/`, or carried by an installed package (dlib's, MediaPipe's), by name and kind.
Loading is done by each kind's factory (`vision.embedders.get_embedder`, `vision.detect.get_detector`,
`liveness.eyes.get_eye_classifier`, `liveness.pad.get_pad_detector`), which looks the name up here.
"""

from pathlib import Path

#: The models shipped inside the package (this folder).
SHIPPED_DIR = Path(__file__).resolve().parent
