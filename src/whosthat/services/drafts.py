"""Form drafts: what a page form held when it was sent back with errors, kept on the server for the
form's next GET (post/redirect/get: the browser never stays on a POST address that re-submits on
reload).

A draft is keyed by a random token (only its hash is stored) and bound to the browser session that sent
the form (a hash of that session's token): another session's request with the same token finds
nothing. Its values and errors (JSON) and each chosen photo (label, source and image bytes) are
encrypted with the template cipher (AES-GCM, bound to the draft and the part), never stored in clear.
A draft lives DRAFT_TTL at most; it is deleted when the form is sent again (used), when its session
ends (sign-out), and expired ones are dropped whenever a draft is saved or a session ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

from whosthat.services.common import Context
from whosthat.services.credentials import new_token, token_hash
from whosthat.services.templates import Photo
from whosthat.store import repositories as repo
from whosthat.store.crypto import DecryptionError
from whosthat.store.models import utcnow

DRAFT_TTL = timedelta(minutes=30)
MAX_TOKEN_LENGTH = 128
FORM_NAME_MAX = 40


@dataclass
class Draft:
    token: str
    form: str
    data: dict
    photos: list[Photo] = field(default_factory=list)


def _session_hash(session_token: object) -> str | None:
    if not isinstance(session_token, str) or not session_token or len(session_token) > MAX_TOKEN_LENGTH:
        return None
    return token_hash("draft-session:" + session_token)


def _token_hash(token: object) -> str | None:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token_hash(token)


def _photo_plain(photo: Photo) -> bytes:
    head = json.dumps({"label": photo.label, "source": photo.source}).encode()
    return head + b"\n" + photo.data


def _photo_of(plain: bytes) -> Photo:
    head, _, data = plain.partition(b"\n")
    meta = json.loads(head)
    return Photo(str(meta["label"]), data, str(meta["source"]))


def save(ctx: Context, session_token: str, form: str, data: dict, photos: list[Photo] = ()) -> str:
    """A new draft of `form` for this session: `data` (JSON-able values and errors) and the photos,
    encrypted; returns its token. Expired drafts are dropped first."""
    session_hash = _session_hash(session_token)
    if session_hash is None:
        raise ValueError("a draft needs the browser session's token")
    if not form or len(form) > FORM_NAME_MAX:
        raise ValueError(f"bad form name {form!r}")
    now = utcnow()
    purge_expired(ctx, commit=False)
    token = new_token(24)
    digest = token_hash(token)
    cipher = ctx.runtime.cipher
    repo.drafts.add(
        ctx.db,
        digest,
        session_hash=session_hash,
        form=form,
        payload=cipher.encrypt_draft(json.dumps(data).encode(), digest, "values"),
        photos=[cipher.encrypt_draft(_photo_plain(p), digest, f"photo:{i}") for i, p in enumerate(photos)],
        now=now,
        expires_at=now + DRAFT_TTL,
    )
    ctx.commit()
    return token


def _row(ctx: Context, session_token: object, token: object, form: str):
    session_hash, digest = _session_hash(session_token), _token_hash(token)
    if session_hash is None or digest is None:
        return None
    return repo.drafts.get(ctx.db, digest, session_hash=session_hash, form=form, now=utcnow())


def load(ctx: Context, session_token: object, token: object, form: str) -> Draft | None:
    """This session's unexpired draft of `form` with its photos, or None (unknown token, another
    session's, expired, used, or not decrypting)."""
    row = _row(ctx, session_token, token, form)
    if row is None:
        return None
    cipher = ctx.runtime.cipher
    try:
        data = json.loads(cipher.decrypt_draft(row.payload, row.token_hash, "values"))
        photos = [
            _photo_of(cipher.decrypt_draft(blob, row.token_hash, f"photo:{position}"))
            for position, blob in repo.drafts.photos(ctx.db, row.token_hash)
        ]
    except (DecryptionError, ValueError, KeyError):
        return None
    return Draft(str(token), form, data, photos)


def discard(ctx: Context, session_token: object, token: object, form: str) -> bool:
    """Delete this session's draft (the form was sent again); whether there was one."""
    row = _row(ctx, session_token, token, form)
    if row is None:
        return False
    repo.drafts.remove(ctx.db, [row.token_hash])
    ctx.commit()
    return True


def end_session(ctx: Context, session_token: object) -> int:
    """Delete every draft of a session that ends (sign-out); how many."""
    session_hash = _session_hash(session_token)
    if session_hash is None:
        return 0
    n = repo.drafts.remove(ctx.db, repo.drafts.of_session(ctx.db, session_hash))
    purge_expired(ctx, commit=False)
    ctx.commit()
    return n


def purge_expired(ctx: Context, *, commit: bool = True) -> int:
    """Delete every expired draft with its photos; how many."""
    n = repo.drafts.remove(ctx.db, repo.drafts.expired(ctx.db, utcnow()))
    if commit:
        ctx.commit()
    return n


THUMBNAIL_SIDE = 240


def thumbnail(ctx: Context, session_token: object, token: object, form: str, position: int) -> bytes | None:
    """A JPEG of at most THUMBNAIL_SIDE px a side of one of this session's draft photos (decoded under
    the upload limits, so the page never serves the uploaded bytes themselves), or None."""
    from whosthat.errors import BadInputError
    from whosthat.vision.image import decode_image, encode_jpeg

    draft = load(ctx, session_token, token, form)
    if draft is None or not isinstance(position, int) or not 0 <= position < len(draft.photos):
        return None
    try:
        rgb = decode_image(
            draft.photos[position].data, ctx.runtime.settings.max_image_pixels, max_side=THUMBNAIL_SIDE
        )
    except BadInputError:
        return None
    return encode_jpeg(rgb, quality=85)
