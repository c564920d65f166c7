"""The project's small liveness networks at serve time (eye state, print attacks): one ONNX file each,
run with onnxruntime on the CPU, batch in -> one probability per item out.

Both are trained by `whosthat train eyes|pad` (research/) and carry their operating point in the ONNX
metadata (`whosthat_name`, `whosthat_threshold`, ...). `load_by_name` finds a model in the zoo
(`whosthat.models.zoo`) and keeps one instance per file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import numpy as np

from whosthat.errors import BadInputError
from whosthat.models import zoo
from whosthat.models.onnx import onnx_session

Model = TypeVar("Model", bound="OnnxProbabilityModel")


class OnnxProbabilityModel:
    """A project-trained ONNX network whose output is one probability per input item.

    `what` and `train_command` (set by each subclass) name it in the error for a missing file.
    `threshold` is the operating point chosen on validation data (0.5 when the file has none).
    """

    what = "liveness"
    train_command = "whosthat train"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise BadInputError(
                f"{self.what} model not found: {self.path} (train one with `{self.train_command}`)"
            )
        self.session = onnx_session(self.path)
        self.input_name = self.session.get_inputs()[0].name
        self.metadata: dict[str, str] = self.session.get_modelmeta().custom_metadata_map
        self.name = self.metadata.get("whosthat_name", self.path.stem)
        self.threshold = float(self.metadata.get("whosthat_threshold", 0.5))
        self._lock = threading.Lock()

    def _probabilities(self, items, prepare: Callable[[object], np.ndarray]) -> np.ndarray:
        """float32[N] for N items; `prepare` turns them into the network's input batch."""
        if len(items) == 0:
            return np.zeros(0, np.float32)
        x = prepare(items)
        with self._lock:  # onnxruntime sessions are thread-safe, but one thread each keeps latency flat
            (prob,) = self.session.run(None, {self.input_name: x})
        return np.asarray(prob, np.float32).reshape(-1)


@lru_cache(maxsize=8)
def _load(cls: type[Model], path: str) -> Model:
    return cls(path)


def load_by_name(cls: type[Model], kind: str, name: str) -> Model:
    """The `kind` model called `name` in the zoo as a `cls`, loaded once per file.
    UnknownModelError when the zoo has no such model."""
    return _load(cls, str(zoo.find(name, kind).path))
