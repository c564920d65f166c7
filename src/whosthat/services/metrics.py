"""The process's metrics on prometheus_client, exposed at /metrics.

`Metrics` keeps one CollectorRegistry per Runtime (tests build many runtimes in one process). Services
count with `inc(name, help, **labels)` and time with `observe(name, help, seconds, **labels)`; a metric
is created on first use with the label names of that call, which must stay the same for that name.
Labels are kept low-cardinality: route templates, outcomes and reasons from fixed sets, never raw paths,
names or ids. Gauges computed at scrape time (the gallery's sizes) are passed to `render`.

The counters every deployment watches:
- whosthat_recognitions_total{kind, outcome}: identify / verify results (match, no_match, same,
  different, no_face, ...).
- whosthat_liveness_total{result, reason}: concluded kiosk liveness challenges.
- whosthat_lockouts_total{kind}: lockouts started (face logins, passwords).
- whosthat_face_logins_total{outcome}, whosthat_http_requests_total{method, route, status},
  whosthat_http_request_seconds{route}, whosthat_identify_seconds, whosthat_face_pool_refused_total.
"""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily

disable_created_metrics()  # no *_created series: they double the output and nobody graphs them

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label_value(value) -> str:
    return str(value)[:64]


class _Gauges:
    """A collector yielding the gauges handed to one render call."""

    def __init__(self, gauges: dict[str, tuple[str, list[tuple[dict, float]]]]):
        self.gauges = gauges

    def collect(self):
        for name, (help_text, samples) in sorted(self.gauges.items()):
            names = sorted({k for labels, _ in samples for k in labels})
            family = GaugeMetricFamily(name, help_text, labels=names)
            for labels, value in samples:
                family.add_metric([_label_value(labels.get(k, "")) for k in names], float(value))
            yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._metrics: dict[str, Counter | Histogram] = {}
        self._lock = threading.Lock()

    def _get(self, kind, name: str, help_text: str, labelnames: tuple[str, ...], **extra):
        metric = self._metrics.get(name)
        if metric is None:
            with self._lock:
                metric = self._metrics.get(name)
                if metric is None:
                    metric = kind(name, help_text, labelnames=labelnames, registry=self.registry, **extra)
                    self._metrics[name] = metric
        return metric

    def inc(self, name: str, help_text: str, value: float = 1.0, **labels: str) -> None:
        names = tuple(sorted(labels))
        counter = self._get(Counter, name, help_text, names)
        (counter.labels(**{k: _label_value(v) for k, v in labels.items()}) if names else counter).inc(value)

    def observe(self, name: str, help_text: str, seconds: float, **labels: str) -> None:
        names = tuple(sorted(labels))
        hist = self._get(Histogram, name, help_text, names, buckets=BUCKETS)
        (hist.labels(**{k: _label_value(v) for k, v in labels.items()}) if names else hist).observe(seconds)

    def value(self, name: str, **labels: str) -> float:
        """The current value of a counter sample (0 when never counted): for tests and health pages."""
        sample = name if name.endswith("_total") else name + "_total"
        got = self.registry.get_sample_value(sample, {k: _label_value(v) for k, v in labels.items()})
        return got or 0.0

    def render(self, gauges: dict[str, tuple[str, list[tuple[dict, float]]]] | None = None) -> str:
        text = generate_latest(self.registry).decode("utf-8")
        if gauges:
            extra = CollectorRegistry(auto_describe=False)
            extra.register(_Gauges(gauges))
            text += generate_latest(extra).decode("utf-8")
        return text


RECOGNITIONS = ("whosthat_recognitions_total", "identify and verify results by outcome")
LIVENESS = ("whosthat_liveness_total", "concluded kiosk liveness challenges by result and reason")
LOCKOUTS = ("whosthat_lockouts_total", "lockouts started, by kind (face login, password)")
