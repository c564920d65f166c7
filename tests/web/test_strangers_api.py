"""A stranger is never clocked in as an employee: NUAA webcam subjects enrolled through the real API are
recognised on frames of another session, and never-enrolled NUAA subjects match nobody, at the default
settings (default embedder and its card's threshold, no WHOSTHAT_MATCH_THRESHOLD)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.conftest import upload

ENROLLED = ("0001", "0006", "0009")  # recorded in two sessions: enrol on one, identify on the other
STRANGERS = ("0002", "0003", "0004", "0005", "0007", "0008")


def _frames(nuaa: Path, subject: str, session: str | None = None) -> list[Path]:
    frames = sorted(
        (nuaa / "ClientRaw" / subject).glob("*.jpg"),
        key=lambda p: (p.stem.split("_")[3], int(p.stem.split("_")[4])),
    )
    return [f for f in frames if session is None or f.stem.split("_")[3] == session]


def _spread(frames: list[Path], count: int) -> list[Path]:
    step = max(1, len(frames) // count)
    return frames[::step][:count]


@pytest.fixture(scope="module")
def enrolled(web, nuaa):
    """{subject: person id}: each enrolled subject with two frames of their first session."""
    from whosthat.config import get_settings

    assert get_settings().match_threshold is None, "the test is about the default threshold"
    people = {}
    for subject in ENROLLED:
        r = web.client.post(
            "/api/v1/people",
            json={"employee_code": f"NUAA-{subject}", "name": "Subject", "surname": subject},
            headers=web.headers,
        )
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        sessions = sorted({f.stem.split("_")[3] for f in _frames(nuaa, subject)})
        added = 0
        for frame in _spread(_frames(nuaa, subject, sessions[0]), 6):
            r = web.client.post(
                f"/api/v1/people/{pid}/templates", files=upload(frame.read_bytes()), headers=web.headers
            )
            added += r.status_code == 201
            if added == 2:
                break
        assert added == 2, f"could not enrol two frames of subject {subject}"
        people[subject] = pid
    return people


def _identify(web, frame: Path) -> dict:
    r = web.client.post("/api/v1/identify", files=upload(frame.read_bytes()), headers=web.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_enrolled_subjects_are_recognised_on_frames_of_another_session(web, nuaa, enrolled):
    for subject, pid in enrolled.items():
        sessions = sorted({f.stem.split("_")[3] for f in _frames(nuaa, subject)})
        for frame in _spread(_frames(nuaa, subject, sessions[-1]), 3):
            result = _identify(web, frame)
            assert result["match"] is not None, f"{frame.name}: enrolled subject {subject} not recognised"
            assert result["match"]["person_id"] == pid, f"{frame.name}: taken for another person"


def test_never_enrolled_subjects_match_nobody(web, nuaa, enrolled):
    from whosthat.config import get_settings

    wrong = []
    for subject in STRANGERS:
        for frame in _spread(_frames(nuaa, subject), 4):
            result = _identify(web, frame)
            if result["match"] is not None:
                wrong.append((frame.name, result["match"]["surname"], result["match"]["distance"]))
    assert not wrong, (
        f"strangers matched enrolled people at the {get_settings().embedder} default threshold: {wrong}"
    )
