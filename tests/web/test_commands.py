"""The web/store command line: admin create, apikey create, identify, calibrate, reembed; exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from whosthat.cli import app


@pytest.fixture
def home(tmp_path, monkeypatch):
    from whosthat.config import get_settings

    monkeypatch.setenv("WHOSTHAT_HOME", str(tmp_path))
    monkeypatch.delenv("WHOSTHAT_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def run(*args, stdin=None):
    from whosthat.errors import BadInputError

    try:
        return CliRunner().invoke(app, list(args), input=stdin, catch_exceptions=False)
    except BadInputError as exc:  # cli.main() turns this into exit 2; the runner calls app() directly
        return type("R", (), {"exit_code": 2, "output": str(exc), "stdout": ""})()


def test_admin_and_api_key_creation(home):
    r = run("admin", "create", "root", "--password-stdin", stdin="a good long password\n")
    assert r.exit_code == 0, r.output
    assert run("admin", "create", "root", "--password-stdin", stdin="a good long password\n").exit_code == 2
    assert run("admin", "create", "weak", "--password-stdin", stdin="short\n").exit_code == 2
    r = run("apikey", "create", "payroll", "--scopes", "attendance:read,people:read")
    assert r.exit_code == 0
    key = r.stdout.strip().splitlines()[-1]
    assert key.startswith("wt_")
    assert key not in (home / "whosthat.sqlite3").read_bytes().decode("latin-1")  # only its hash is stored
    assert run("apikey", "create", "x", "--scopes", "root").exit_code == 2


def test_identify_calibrate_and_reembed_on_real_faces(home, lfw_root):
    from whosthat.services import consent, people, templates
    from whosthat.services.common import Context
    from whosthat.services.runtime import Runtime

    runtime = Runtime.from_settings()
    with Context.open(runtime) as ctx:
        tony = people.create_person(ctx, employee_code="T", name="Tony", surname="Blair")
        consent.record_consent(ctx, tony.id)
        templates.enroll_template(
            ctx, tony.id, (lfw_root / "Tony_Blair" / "Tony_Blair_0003.jpg").read_bytes()
        )
        colin = people.create_person(ctx, employee_code="C", name="Colin", surname="Powell")
        consent.record_consent(ctx, colin.id)
        for n in (1, 2):
            templates.enroll_template(
                ctx, colin.id, (lfw_root / "Colin_Powell" / f"Colin_Powell_{n:04d}.jpg").read_bytes()
            )
    runtime.close()
    r = run("identify", str(lfw_root / "Colin_Powell" / "Colin_Powell_0003.jpg"), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["match"]["employee_code"] == "C"
    r = run("identify", str(lfw_root / "Gerhard_Schroeder" / "Gerhard_Schroeder_0001.jpg"), "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["match"] is None
    not_image = home / "notes.jpg"
    not_image.write_text("not an image")
    assert run("identify", str(not_image)).exit_code == 2
    assert run("identify", str(home / "missing.jpg")).exit_code == 2
    # Two people say nothing about false matches: refused (it used to print a looser threshold).
    r = run("calibrate", "--far", "0.4", "--json")
    assert r.exit_code == 2 and "at least 20 enrolled people" in r.output and "has 2" in r.output
    assert run("calibrate", "--far", "2").exit_code == 2
    # Templates of a retired model: re-embedding from the stored (encrypted) chips brings everyone back,
    # also people enrolled before consent was required (no consent record): reembed only recomputes
    # the templates a person already has, it adds no face.
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{home / 'whosthat.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE face_templates SET embedder = 'legacy-model'"))
        conn.execute(sa.text("DELETE FROM consent_records"))
        conn.execute(sa.text("UPDATE counters SET value = value + 1"))
    engine.dispose()
    probe = str(lfw_root / "Colin_Powell" / "Colin_Powell_0003.jpg")
    assert run("identify", probe, "--json").exit_code == 1
    # the configured (default) embedder: SFace computed from the kept dlib chips
    from whosthat.vision.embedders import DEFAULT_EMBEDDER

    r = run("reembed", "--to", DEFAULT_EMBEDDER, "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["templates"] == 3 and report["removed_old"] == 3 and report["people"] == 2
    r = run("identify", probe, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["match"]["employee_code"] == "C"


def test_backup_and_restore_commands(home, tmp_path_factory, monkeypatch):
    from whosthat.config import get_settings

    assert run("admin", "create", "root", "--password-stdin", stdin="a good long password\n").exit_code == 0
    out = tmp_path_factory.mktemp("backups") / "site.backup"
    r = run("backup", str(out), "--passphrase-stdin", "--json", stdin="a long backup passphrase\n")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout.strip().splitlines()[-1])["rows"] >= 1
    fresh = tmp_path_factory.mktemp("fresh")
    monkeypatch.setenv("WHOSTHAT_HOME", str(fresh))
    get_settings.cache_clear()
    assert run("restore", str(out), "--passphrase-stdin", stdin="wrong passphrase here\n").exit_code == 2
    r = run("restore", str(out), "--passphrase-stdin", stdin="a long backup passphrase\n")
    assert r.exit_code == 0, r.output
    assert (fresh / "secret.key").read_bytes() == (home / "secret.key").read_bytes()
    assert run("admin", "create", "root", "--password-stdin", stdin="a good long password\n").exit_code == 2


def _gallery_of(home, vectors_by_person: list[np.ndarray]) -> None:
    """People with the given template vectors of the default embedder, stored like enrolled ones."""
    from whosthat.services import people
    from whosthat.services.common import Context
    from whosthat.services.runtime import Runtime
    from whosthat.store import repositories as repo
    from whosthat.vision.embedders import DEFAULT_EMBEDDER

    runtime = Runtime.from_settings()
    with Context.open(runtime) as ctx:
        for i, vectors in enumerate(vectors_by_person):
            person = people.create_person(ctx, employee_code=f"P{i}", name="P", surname=str(i))
            for v in vectors:
                repo.templates.add(
                    ctx.db,
                    runtime.cipher,
                    person.id,
                    embedder=DEFAULT_EMBEDDER,
                    embedding=v,
                    chip=None,
                    quality=1.0,
                    source="test",
                )
            ctx.commit()
    runtime.close()


def _unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_calibrate_never_proposes_a_looser_threshold_than_the_models_default(home):
    from whosthat.vision.embedders import DEFAULT_EMBEDDER, get_embedder

    default = get_embedder(DEFAULT_EMBEDDER).threshold
    rng = np.random.default_rng(0)
    # 20 people far apart (random directions: impostor distances near 1.41 > the default): the
    # gallery alone would allow a looser threshold; the default is kept.
    centres = _unit(rng.normal(size=(20, 128)))
    _gallery_of(home, [_unit(c + 0.05 * rng.normal(size=(2, 128))) for c in centres])
    r = run("calibrate", "--far", "1e-2", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["threshold"] > default and out["proposed"] == default and out["stricter"] is False
    text = run("calibrate", "--far", "1e-2")
    assert "already at least as strict" in text.output and "export" not in text.output


def test_calibrate_proposes_a_stricter_threshold_when_the_gallery_needs_one(home):
    from whosthat.vision.embedders import DEFAULT_EMBEDDER, get_embedder

    default = get_embedder(DEFAULT_EMBEDDER).threshold
    rng = np.random.default_rng(1)
    # 20 people crowded together (impostor distances near 0.4): a stricter threshold is proposed.
    base = rng.normal(size=128)
    centres = _unit(base + 0.2 * rng.normal(size=(20, 128)) * np.linalg.norm(base) / np.sqrt(128))
    _gallery_of(home, [_unit(c + 0.01 * rng.normal(size=(2, 128))) for c in centres])
    r = run("calibrate", "--far", "1e-2", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["stricter"] is True and out["proposed"] == out["threshold"] < default
    text = run("calibrate", "--far", "1e-2")
    assert f"export WHOSTHAT_MATCH_THRESHOLD={out['proposed']:.4f}" in text.output
