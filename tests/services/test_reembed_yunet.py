"""`whosthat reembed --to sface-2021dec-yunet` from kept chips: the chip holds too little of the face for
YuNet's crop, so the templates take the chip-map crop and say so (alignment "chip-map", counted); an
enrolment with the photo gets YuNet's crop (alignment "yunet")."""

from __future__ import annotations

import numpy as np

from whosthat.services.reembed import reembed
from whosthat.store import repositories as repo
from whosthat.store.models import FaceTemplate
from whosthat.vision.embedders import DLIB_EMBEDDER, SFACE_YUNET_EMBEDDER
from whosthat.vision.pipeline import get_pipeline
from whosthat.vision.sface import ALIGNED_CHIP_MAP, ALIGNED_YUNET


def test_reembed_from_chips_takes_the_chip_map_crop_and_marks_it(context, astronaut):
    ctx = context()
    face = get_pipeline(embedder=DLIB_EMBEDDER, detector="auto", flip=False).embed_single(
        astronaut, "research"
    )
    person = repo.people.add(ctx.db, employee_code="E-1", name="Eileen", surname="C", active=True)
    ctx.db.flush()
    repo.templates.add(
        ctx.db,
        ctx.runtime.cipher,
        person.id,
        embedder=DLIB_EMBEDDER,
        embedding=face.embedding,
        chip=face.chip,
        quality=1.0,
        source="upload",
    )
    ctx.db.commit()
    report = reembed(ctx, SFACE_YUNET_EMBEDDER)
    assert report.templates == 1 and report.from_chip_fallback == 1 and report.removed_old == 1
    (row,) = ctx.db.query(FaceTemplate).all()
    assert row.embedder == SFACE_YUNET_EMBEDDER and row.alignment == ALIGNED_CHIP_MAP and row.dim == 128
    # the photo itself gives YuNet's crop, and the pipeline says so
    yunet = get_pipeline(embedder=SFACE_YUNET_EMBEDDER, detector="auto", flip=False)
    from_photo = yunet.embed_single(astronaut, "research")
    assert from_photo.alignment == ALIGNED_YUNET
    stored = ctx.runtime.cipher.decrypt_embedding(row.embedding, person.id, SFACE_YUNET_EMBEDDER)
    served = ctx.runtime.pipeline(SFACE_YUNET_EMBEDDER)  # the reembed's pipeline (the settings' flip)
    np.testing.assert_allclose(stored, served.embed_chips(face.chip[None])[0], atol=1e-5)


def test_chip_embedders_leave_alignment_empty(context, astronaut):
    ctx = context()
    face = get_pipeline(embedder=DLIB_EMBEDDER, detector="auto", flip=False).embed_single(
        astronaut, "research"
    )
    assert face.alignment is None
    person = repo.people.add(ctx.db, employee_code="E-2", name="Eileen", surname="C", active=True)
    ctx.db.flush()
    repo.templates.add(
        ctx.db,
        ctx.runtime.cipher,
        person.id,
        embedder="legacy-model",
        embedding=face.embedding,
        chip=face.chip,
        quality=1.0,
        source="upload",
    )
    ctx.db.commit()
    report = reembed(ctx, DLIB_EMBEDDER)
    assert report.templates == 1 and report.from_chip_fallback == 0
    assert [r.alignment for r in ctx.db.query(FaceTemplate).all()] == [None]
