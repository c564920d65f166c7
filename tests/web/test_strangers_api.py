"""A stranger is never clocked in as an employee: NUAA webcam subjects enrolled through the real API are
recognised on frames of another session, and never-enrolled NUAA subjects match nobody, at the default
settings (default embedder and its card's threshold, no WHOSTHAT_MATCH_THRESHOLD)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.conftest import upload
from whosthat.services.consent import CURRENT_VERSION

CONSENT = {"consent_version": CURRENT_VERSION}  # each enrolled subject's consent, recorded with a template
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
                f"/api/v1/people/{pid}/templates",
                files=upload(frame.read_bytes()),
                data=CONSENT,
                headers=web.headers,
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


# -- LFW and CelebA strangers ------------------------------------------------------------------------
# People of the report parts only (LFW: absent from View 1; CelebA: the report half of the seed-11
# identity split), which chose neither the threshold nor the margin. Some of each population are
# enrolled beside the NUAA subjects; others, never enrolled, must match nobody.
LFW_ENROLLED, LFW_STRANGERS, CELEBA_ENROLLED, CELEBA_STRANGERS = 3, 10, 3, 10


def _report_people(data_root: Path) -> tuple[list[list[Path]], list[list[Path]]]:
    """(LFW people absent from View 1 with >= 3 photos, CelebA report identities with >= 3 photos):
    each a list of photo paths, in a fixed order."""
    from whosthat.datasets import lfw
    from whosthat.vision import populations

    root = lfw.lfw_root(data_root)
    view1 = lfw.read_pairs(root, "pairsDevTrain.txt") + lfw.read_pairs(root, "pairsDevTest.txt")
    seen = {x.split("/")[0] for p in view1 for x in (p.path_a, p.path_b)}
    images = root / lfw.IMAGES_DIR
    lfw_people = []
    for folder in sorted(images.iterdir()):
        photos = sorted(folder.glob("*.jpg"))
        if folder.name not in seen and len(photos) >= 3:
            lfw_people.append(photos)
    celeba = populations.celeba_photos(data_root / "celeba")
    report = set(populations.split_identities([i for _, i in celeba])["report"])
    by_id: dict[str, list[Path]] = {}
    for path, ident in celeba:
        if ident in report:
            by_id.setdefault(ident, []).append(path)
    celeba_people = [by_id[i] for i in sorted(by_id) if len(by_id[i]) >= 3]
    return lfw_people, celeba_people


@pytest.fixture(scope="module")
def other_populations(web, enrolled, data_root):
    """(LFW strangers, CelebA strangers): photo lists of people never enrolled; some people of each
    population are enrolled first (two photos each that pass the enrolment rules)."""
    lfw_people, celeba_people = _report_people(data_root)

    def enrol(population: str, people: list[list[Path]], count: int) -> list[list[Path]]:
        done, rest = 0, []
        for k, photos in enumerate(people):
            if done == count:
                rest.append(photos)
                continue
            r = web.client.post(
                "/api/v1/people",
                json={"employee_code": f"{population}-{k}", "name": population, "surname": photos[0].stem},
                headers=web.headers,
            )
            pid = r.json()["id"]
            added = 0
            for photo in photos[:6]:
                r = web.client.post(
                    f"/api/v1/people/{pid}/templates",
                    files=upload(photo.read_bytes()),
                    data=CONSENT,
                    headers=web.headers,
                )
                added += r.status_code == 201
                if added == 2:
                    break
            done += added > 0
        assert done == count, f"could not enrol {count} {population} people"
        return rest

    lfw_rest = enrol("LFW", lfw_people, LFW_ENROLLED)
    celeba_rest = enrol("CelebA", celeba_people, CELEBA_ENROLLED)
    return lfw_rest[-LFW_STRANGERS:], celeba_rest[-CELEBA_STRANGERS:]


def test_never_enrolled_people_of_every_population_match_nobody(web, nuaa, other_populations):
    """NUAA, LFW and CelebA strangers against a gallery holding people of all three populations."""
    from whosthat.config import get_settings

    lfw_strangers, celeba_strangers = other_populations
    probes = [f for s in STRANGERS for f in _spread(_frames(nuaa, s), 2)]
    probes += [p for photos in lfw_strangers + celeba_strangers for p in photos[:2]]
    wrong, judged = [], 0
    for photo in probes:
        r = web.client.post("/api/v1/identify", files=upload(photo.read_bytes()), headers=web.headers)
        if r.status_code == 422:  # no usable face in the photo (in-the-wild CelebA): nothing to match
            continue
        assert r.status_code == 200, r.text
        judged += 1
        if r.json()["match"] is not None:
            wrong.append((photo.name, r.json()["match"]["surname"], r.json()["match"]["distance"]))
    assert judged >= 0.8 * len(probes), f"only {judged} of {len(probes)} probes had a usable face"
    assert not wrong, f"strangers matched at the {get_settings().embedder} defaults: {wrong}"
