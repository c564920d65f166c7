"""When the configured embedder has no templates but another one has (the default model changed), the
app says which one command brings everyone back; otherwise it says nothing."""

from __future__ import annotations

import numpy as np

from whosthat.services.reembed import migration_hint
from whosthat.store import repositories as repo


def _template(ctx, person_id: int, embedder: str, dim: int) -> None:
    repo.templates.insert(
        ctx.db,
        ctx.runtime.cipher,
        person_id,
        embedder=embedder,
        embedding=np.ones(dim, np.float32) / np.sqrt(dim),
        chip_ciphertext=None,
        quality=1.0,
        source="test",
    )
    ctx.db.commit()


def test_migration_hint_names_reembed_only_when_the_configured_gallery_is_empty(context):
    ctx = context()
    configured = ctx.runtime.settings.embedder
    assert migration_hint(ctx) is None  # empty gallery: nothing to migrate
    person = repo.people.add(ctx.db, employee_code="E-1", name="Ada", surname="L", active=True)
    ctx.db.commit()
    _template(ctx, person.id, "legacy-model", 128)
    hint = migration_hint(ctx)
    assert hint is not None and f"whosthat reembed --to {configured}" in hint and "1 of legacy-model" in hint
    _template(ctx, person.id, configured, 256)
    assert migration_hint(ctx) is None


def test_the_server_says_when_the_gallery_outgrows_the_default_threshold(context, monkeypatch):
    """About N x the card's false-match rate of a stranger's attempts match somebody: above 1% the
    start-up hint says so and how to tighten; not below it, and not with an administrator's threshold."""
    from whosthat.services.reembed import gallery_size_hint
    from whosthat.vision.embedders import get_embedder, read_card

    ctx = context()
    configured = ctx.runtime.settings.embedder
    fmr = max(r["fmr"] for r in read_card(configured)["tune_rates"].values())
    dim = get_embedder(configured).dim
    below = int(0.009 / fmr)  # ~0.9% expected: quiet
    for k in range(below):
        person = repo.people.add(ctx.db, employee_code=f"E-{k}", name="P", surname=str(k), active=True)
        _template(ctx, person.id, configured, dim)
    assert gallery_size_hint(ctx) is None
    for k in range(below, int(0.02 / fmr)):  # ~2%: said, with the command
        person = repo.people.add(ctx.db, employee_code=f"E-{k}", name="P", surname=str(k), active=True)
        _template(ctx, person.id, configured, dim)
    hint = gallery_size_hint(ctx)
    assert hint is not None and "whosthat calibrate --far 1e-6" in hint and "people are enrolled" in hint
    monkeypatch.setattr(ctx.runtime.settings, "match_threshold", 0.5)
    assert gallery_size_hint(ctx) is None
