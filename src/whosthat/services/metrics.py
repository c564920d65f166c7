"""A small Prometheus text-format registry (counters and latency histograms), no extra dependency.

Exposed at /metrics. Labels are kept low-cardinality: route templates, not raw paths.
"""

from __future__ import annotations

import threading
from collections import defaultdict

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(
        f'{k}="{str(v).replace(chr(92), "/").replace(chr(34), "")}"' for k, v in sorted(labels.items())
    )
    return "{" + inner + "}"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple, float]] = defaultdict(lambda: defaultdict(float))
        self._hist: dict[str, dict[tuple, list[float]]] = defaultdict(dict)
        self._help: dict[str, tuple[str, str]] = {}

    def inc(self, name: str, help_text: str, value: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._help.setdefault(name, ("counter", help_text))
            self._counters[name][key] += value

    def observe(self, name: str, help_text: str, seconds: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._help.setdefault(name, ("histogram", help_text))
            row = self._hist[name].get(key)
            if row is None:
                row = self._hist[name][key] = [0.0] * (len(_BUCKETS) + 2)  # buckets, sum, count
            for i, bound in enumerate(_BUCKETS):
                if seconds <= bound:
                    row[i] += 1
            row[-2] += seconds
            row[-1] += 1

    def render(self, gauges: dict[str, tuple[str, list[tuple[dict, float]]]] | None = None) -> str:
        lines: list[str] = []
        with self._lock:
            for name, series in sorted(self._counters.items()):
                kind, help_text = self._help[name]
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
                for key, value in sorted(series.items()):
                    lines.append(f"{name}{_labels(dict(key))} {value:g}")
            for name, series in sorted(self._hist.items()):
                kind, help_text = self._help[name]
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
                for key, row in sorted(series.items()):
                    labels = dict(key)
                    for i, bound in enumerate(_BUCKETS):
                        lines.append(f"{name}_bucket{_labels({**labels, 'le': f'{bound:g}'})} {row[i]:g}")
                    lines.append(f"{name}_bucket{_labels({**labels, 'le': '+Inf'})} {row[-1]:g}")
                    lines.append(f"{name}_sum{_labels(labels)} {row[-2]:.6f}")
                    lines.append(f"{name}_count{_labels(labels)} {row[-1]:g}")
        for name, (help_text, samples) in sorted((gauges or {}).items()):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            for labels, value in samples:
                lines.append(f"{name}{_labels(labels)} {value:g}")
        return "\n".join(lines) + "\n"
