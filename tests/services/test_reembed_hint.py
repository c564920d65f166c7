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
