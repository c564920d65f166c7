"""The web/store command line: admin create, apikey create, identify, calibrate, reembed; exit codes."""

from __future__ import annotations

import json

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
    from whosthat.services import people, templates
    from whosthat.services.common import Context
    from whosthat.services.runtime import Runtime

    runtime = Runtime.from_settings()
    with Context.open(runtime) as ctx:
        tony = people.create_person(ctx, employee_code="T", name="Tony", surname="Blair")
        templates.enroll_template(
            ctx, tony.id, (lfw_root / "Tony_Blair" / "Tony_Blair_0003.jpg").read_bytes()
        )
        colin = people.create_person(ctx, employee_code="C", name="Colin", surname="Powell")
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
    r = run("calibrate", "--far", "0.4", "--json")
    assert r.exit_code == 0, r.output
    cal = json.loads(r.stdout)
    assert cal["impostor_pairs"] == 2 and cal["genuine_pairs"] == 1 and cal["templates"] == 3
    assert run("calibrate", "--far", "2").exit_code == 2
    # Templates of a retired model: re-embedding from the stored (encrypted) chips brings everyone back.
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{home / 'whosthat.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE face_templates SET embedder = 'legacy-model'"))
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
