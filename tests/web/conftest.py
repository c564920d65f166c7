"""Web fixtures: one app per test module and backend (SQLite; PostgreSQL too when configured), real
LFW faces, and an API key with every scope. The face pipeline is process-wide and loads once."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.store.backends import backend_params, make_settings
from whosthat.services import access
from whosthat.services.common import Context
from whosthat.services.runtime import Runtime
from whosthat.store.models import AttendanceEvent, AuditLog, ConsentRecord, Counter, FaceTemplate, Person
from whosthat.web.app import create_app


@dataclass
class Web:
    client: TestClient
    runtime: Runtime
    admin_key: str

    @property
    def headers(self) -> dict:
        return {"X-API-Key": self.admin_key}

    def context(self) -> Context:
        """A service Context on a new session; the test closes it (ctx.db.close())."""
        return Context(self.runtime, self.runtime.database.session(), address="test")

    def snapshot(self) -> dict:
        """Everything a bad request must not change: row counts and the gallery counter."""
        with self.runtime.database.session() as db:
            out = {
                m.__tablename__: db.execute(select(func.count()).select_from(m)).scalar_one()
                for m in (Person, FaceTemplate, AttendanceEvent, AuditLog, ConsentRecord)
            }
            out["gallery"] = db.execute(select(Counter.value)).scalar_one()
        return out


@pytest.fixture(scope="module", params=backend_params())
def web(request, tmp_path_factory):
    settings = make_settings(request.param, tmp_path_factory.mktemp("web"))
    runtime = Runtime.from_settings(settings)
    app = create_app(settings, runtime)
    with TestClient(app) as client:
        with Context.open(runtime) as ctx:
            _, key = access.create_api_key(ctx, "tests", ["admin"])
        yield Web(client, runtime, key)
    runtime.close()


def jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=quality)
    return out.getvalue()


def lfw_bytes(lfw_root: Path, name: str, number: int) -> bytes:
    return (lfw_root / name / f"{name}_{number:04d}.jpg").read_bytes()


def upload(data: bytes, name: str = "face.jpg", kind: str = "image/jpeg") -> dict:
    return {"image": (name, data, kind)}


def consent_given(web, person_id: int) -> None:
    """Record the person's consent (the current text) through the API: templates need it."""
    r = web.client.post(f"/api/v1/people/{person_id}/consent", json={}, headers=web.headers)
    assert r.status_code == 201, r.text
