"""Re-embedding: move every stored face chip to another embedder, so that switching models does not
ask anyone to enrol again (`whosthat reembed --to NAME`); and what the server says at start about the
gallery (`migration_hint`: the configured embedder has no templates; `gallery_size_hint`: so many people
that a stranger would often match one of them)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from whosthat.services import audit
from whosthat.services.common import SYSTEM, Actor, Context
from whosthat.store import repositories as repo
from whosthat.store.crypto import DecryptionError

BATCH = 64  # chips embedded per call


@dataclass
class ReembedReport:
    to_model: str
    people: int = 0
    templates: int = 0
    skipped_no_chip: int = 0
    removed_old: int = 0
    #: templates whose embedder places its input from the photo but got it from the kept chip instead
    #: (`sface-2021dec-yunet`'s chip-map crop): marked alignment "chip-map"; re-enrolling does better
    from_chip_fallback: int = 0
    errors: list[str] = field(default_factory=list)


def reembed(
    ctx: Context, to_model: str, *, keep_old: bool = False, actor: Actor = SYSTEM, progress=None
) -> ReembedReport:
    """Re-embed every stored chip with `to_model` and add the new templates; unless keep_old, remove
    the templates of other embedders that were re-embedded (templates without a chip are kept and
    counted in skipped_no_chip: those people must enrol again for the new model). An embedder that
    places its input from the photo (`sface-2021dec-yunet`, `dlib+sface-yunet`) gets only the chip
    here: its templates take the chip-map crop, are marked alignment "chip-map" and counted in
    from_chip_fallback (enrolling again gives them YuNet's crop).

    progress: called with the number of templates re-embedded so far, after each batch.
    """
    actor.require("admin")
    rt = ctx.runtime
    pipeline = rt.pipeline(to_model)
    report = ReembedReport(to_model=pipeline.model)
    people: set[int] = set()
    done_ids: list[int] = []
    batch: list[tuple[int, int, np.ndarray, float, str, bytes]] = []

    def flush_batch() -> None:
        if not batch:
            return
        vectors = pipeline.embed_chips(np.stack([item[2] for item in batch]))
        for (tid, pid, _chip, quality, source, blob), vec in zip(batch, vectors, strict=True):
            # The chip ciphertext is bound to the person, not the embedder: it moves as is.
            repo.templates.insert(
                ctx.db,
                rt.cipher,
                pid,
                embedder=pipeline.model,
                embedding=vec,
                chip_ciphertext=blob,
                quality=quality,
                source=source,
                alignment=pipeline.chip_alignment,
            )
            if pipeline.chip_alignment is not None:
                report.from_chip_fallback += 1
            done_ids.append(tid)
            people.add(pid)
            report.templates += 1
        batch.clear()
        if progress:
            progress(report.templates)

    for tid, pid, blob, quality, source in repo.templates.not_of_embedder(ctx.db, pipeline.model):
        if blob is None:
            report.skipped_no_chip += 1
            continue
        try:
            chip = rt.cipher.decrypt_chip(blob, pid)
        except DecryptionError:
            report.errors.append(f"template {tid}: chip did not decrypt (other key?)")
            continue
        batch.append((tid, pid, chip, quality, source, blob))
        if len(batch) >= BATCH:
            flush_batch()
    flush_batch()
    if not keep_old and done_ids:
        report.removed_old = repo.templates.delete_ids(ctx.db, done_ids)
    report.people = len(people)
    repo.counters.bump_gallery_version(ctx.db)
    audit.record(
        ctx,
        actor,
        "templates.reembed",
        None,
        {
            "to": report.to_model,
            "templates": report.templates,
            "removed_old": report.removed_old,
            **({"from_chip_fallback": report.from_chip_fallback} if report.from_chip_fallback else {}),
        },
    )
    ctx.commit()
    return report


def migration_hint(ctx: Context) -> str | None:
    """What to run when the configured embedder has no templates but another has (the default model
    changed, or WHOSTHAT_EMBEDDER did): nobody would be recognised until the gallery is re-embedded."""
    wanted = ctx.runtime.settings.embedder
    counts = repo.templates.counts_by_embedder(ctx.db)
    others = {name: n for name, n in counts.items() if name != wanted}
    if counts.get(wanted) or not others:
        return None
    listed = ", ".join(f"{n} of {name}" for name, n in sorted(others.items()))
    return (
        f"the gallery has no {wanted} templates ({listed}): nobody will be recognised until you run\n"
        f"    whosthat reembed --to {wanted}\n(it re-embeds the kept face chips; no one has to enrol again)"
    )


#: Above this expected share of a stranger's attempts matching somebody, the server says so at start.
STRANGER_MATCH_HINT = 0.01


def gallery_size_hint(ctx: Context) -> str | None:
    """What to do when the gallery has grown so large that, at the card's threshold, a stranger would
    match somebody in more than STRANGER_MATCH_HINT of their attempts: about N people x the card's
    false-match rate per pair (its worst tune part; docs/deployment.md, "Gallery size"). None below
    that, and when WHOSTHAT_MATCH_THRESHOLD is set (the administrator chose the threshold)."""
    from whosthat.vision.embedders import read_card

    settings = ctx.runtime.settings
    if settings.match_threshold is not None:
        return None
    rates = [r["fmr"] for r in (read_card(settings.embedder).get("tune_rates") or {}).values()]
    if not rates:
        return None
    fmr = max(rates)
    people = repo.templates.people_with(ctx.db, settings.embedder)
    expected = 1 - (1 - fmr) ** people
    if expected <= STRANGER_MATCH_HINT:
        return None
    return (
        f"{people:,} people are enrolled: at the default threshold of {settings.embedder} (false-match rate "
        f"{fmr:.1e} per pair) a stranger would match one of them in about {100 * expected:.1f}% of attempts "
        "before the margin rule.\nTighten it for this gallery: whosthat calibrate --far 1e-6 (or set "
        'WHOSTHAT_MATCH_THRESHOLD); see docs/deployment.md, "Gallery size"'
    )
