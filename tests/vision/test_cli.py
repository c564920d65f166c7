"""The command line as a user runs it: exit codes, --json output, one-line reasons for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import lfw_image
from whosthat.vision.embedders import DEFAULT_EMBEDDER, get_embedder
from whosthat.vision.image import encode_jpeg


def whosthat(*args: str, env_home: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "whosthat", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def astronaut_file(tmp_path_factory, astronaut) -> Path:
    path = tmp_path_factory.mktemp("img") / "astronaut.jpg"
    path.write_bytes(encode_jpeg(astronaut))
    return path


def test_models_lists_detector_and_embedder_as_json_lines():
    out = whosthat("models", "--json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    kinds = {r["kind"] for r in rows}
    assert {"detector", "embedder"} <= kinds
    assert any(r["name"] == "dlib-resnet-v1" for r in rows)
    # the built-in embedders, each named in words for the admin pages
    names = {r["name"]: r["display_name"] for r in rows if r["kind"] == "embedder"}
    assert names["dlib+sface"] == "dlib ResNet + SFace, fused" and names["sface-2021dec"].startswith("SFace")
    assert names["sface-2021dec-yunet"] == "SFace on YuNet's landmarks (OpenCV Zoo)"
    assert names["dlib+sface-yunet"] == "dlib ResNet + SFace on YuNet's landmarks, fused"


def test_verify_same_person_exits_0_and_reports_json(lfw_root):
    out = whosthat(
        "verify",
        str(lfw_image(lfw_root, "Serena_Williams", 1)),
        str(lfw_image(lfw_root, "Serena_Williams", 2)),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["same"] is True and result["distance"] < result["threshold"]
    assert result["model"] == DEFAULT_EMBEDDER


def test_verify_different_people_exits_1(lfw_root):
    out = whosthat(
        "verify",
        str(lfw_image(lfw_root, "Serena_Williams", 1)),
        str(lfw_image(lfw_root, "Colin_Powell", 1)),
        "--json",
    )
    assert out.returncode == 1, out.stderr
    assert json.loads(out.stdout)["same"] is False


def test_verify_with_a_text_file_exits_2_with_one_line(tmp_path, astronaut_file):
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a photo\n")
    out = whosthat("verify", str(astronaut_file), str(bad))
    assert out.returncode == 2
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("whosthat:")]
    assert len(lines) == 1 and "notes.jpg" in lines[0] and "not an image" in lines[0]
    assert out.stdout == ""


def test_embed_writes_npz_and_marks_faceless_files(tmp_path, astronaut_file):
    from skimage import data

    coffee = tmp_path / "coffee.jpg"
    coffee.write_bytes(encode_jpeg(data.coffee()))
    out_file = tmp_path / "e.npz"
    out = whosthat("embed", str(astronaut_file), str(coffee), "--out", str(out_file))
    assert out.returncode == 0, out.stderr
    z = np.load(out_file)
    assert z["embeddings"].shape == (2, get_embedder(DEFAULT_EMBEDDER).dim)
    assert list(z["found"]) == [True, False]
    assert str(z["model"]) == DEFAULT_EMBEDDER
    assert np.isnan(z["embeddings"][1]).all() and np.isfinite(z["embeddings"][0]).all()


def test_eval_lfw_on_a_folder_without_pairs_exits_2(tmp_path):
    out = whosthat("eval", "lfw", "--data", str(tmp_path))
    assert out.returncode == 2
    assert "pairs.txt" in out.stderr


@pytest.fixture(scope="module")
def small_face_file(tmp_path_factory, lfw_root) -> Path:
    """Serena Williams at 40% size on a 320x240 canvas: a face of about 42 px, under the kiosk's 50."""
    from PIL import Image

    photo = Image.open(lfw_image(lfw_root, "Serena_Williams", 1)).resize((100, 100), Image.LANCZOS)
    canvas = Image.new("RGB", (320, 240), (128, 128, 128))
    canvas.paste(photo, (100, 60))
    path = tmp_path_factory.mktemp("small") / "small_face.jpg"
    canvas.save(path, quality=95)
    return path


def test_embed_takes_every_dominant_face_by_default_and_the_kiosk_rule_on_request(small_face_file, lfw_root):
    big = str(lfw_image(lfw_root, "Serena_Williams", 2))
    out = whosthat("embed", str(small_face_file), big, "--json")
    assert out.returncode == 0, out.stderr
    small, large = [json.loads(line) for line in out.stdout.splitlines()]
    assert small["found"] is True and len(small["embedding"]) == get_embedder(DEFAULT_EMBEDDER).dim
    assert small["quality"]["face_px"] < 50 and any("too small" in r for r in small["quality"]["reasons"])
    assert large["found"] is True and large["quality"]["face_px"] > 80

    login = whosthat("embed", str(small_face_file), big, "--purpose", "login", "--json")
    assert login.returncode == 0, login.stderr
    small, large = [json.loads(line) for line in login.stdout.splitlines()]
    assert small["found"] is False and large["found"] is True
    px = int(small["reason"].split("(")[1].split(" px")[0])
    assert px < 50 and "need 50" in small["reason"]

    assert whosthat("embed", str(small_face_file), "--purpose", "kiosk").returncode == 2


def test_verify_compares_small_faces_by_default_and_reports_their_quality(small_face_file, lfw_root):
    other = str(lfw_image(lfw_root, "Serena_Williams", 2))
    out = whosthat("verify", str(small_face_file), other, "--json")
    assert out.returncode in (0, 1), out.stderr
    result = json.loads(out.stdout)
    assert result["quality"][0]["face_px"] < 50 <= result["quality"][1]["face_px"]
    enrol = whosthat("verify", str(small_face_file), other, "--purpose", "enrol")
    assert enrol.returncode == 2 and "too small" in enrol.stderr


def test_the_size_message_never_says_a_face_is_as_large_as_it_needs_to_be(astronaut):
    from whosthat.vision.pipeline import get_pipeline
    from whosthat.vision.quality import MIN_FACE_PX_LOGIN, assess_quality

    pipe = get_pipeline()
    face = pipe.embed_single(astronaut, purpose="research")
    quality = assess_quality(MIN_FACE_PX_LOGIN - 0.4, face.landmarks, face.chip, "login")
    assert quality.reasons == [
        f"face too small ({MIN_FACE_PX_LOGIN - 1} px, need {MIN_FACE_PX_LOGIN}): move closer or use a larger photo"
    ]
