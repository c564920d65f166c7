"""AES-GCM encryption of biometric data at rest (face templates and aligned face chips).

The 256-bit key comes from `WHOSTHAT_SECRET_KEY` (base64 of 32 bytes) or, when that is unset, from the
key file `$WHOSTHAT_HOME/secret.key`, created on first use with mode 0600. Every ciphertext carries a
version byte and a random 96-bit nonce, and is bound (as associated data) to the person it belongs to,
so a row copied onto another person fails to decrypt instead of silently matching as them.

Losing the key makes every stored template unreadable: back it up with the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import stat
import zlib
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from whosthat.errors import BadInputError

log = logging.getLogger(__name__)

KEY_FILE_NAME = "secret.key"
_VERSION = b"\x01"
_NONCE_BYTES = 12


class SecretKeyError(BadInputError):
    """The configured key is unusable (wrong length, not base64, unreadable key file)."""

    code = "bad_secret_key"


class DecryptionError(Exception):
    """A ciphertext did not authenticate: wrong key, tampered data, or data moved to another row."""


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretKeyError(f"{where} is not valid base64") from exc
    if len(key) != 32:
        raise SecretKeyError(f"{where} must decode to 32 bytes, got {len(key)}")
    return key


def load_or_create_key(secret_key: str | None, home: Path) -> bytes:
    """Return the 32-byte master key: from `secret_key` (base64) or the 0600 key file under `home`."""
    if secret_key:
        return _decode_key(secret_key, "WHOSTHAT_SECRET_KEY")
    path = Path(home) / KEY_FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        encoded = base64.b64encode(os.urandom(32))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(encoded + b"\n")
            log.warning("created a new encryption key at %s (mode 0600); back it up with the database", path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("key file %s is readable by group/others (mode %o); run chmod 600 on it", path, mode)
    return _decode_key(path.read_text(), f"key file {path}")


class TemplateCipher:
    """Encrypts embeddings and face chips with AES-GCM; one instance per process."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise SecretKeyError("the encryption key must be 32 bytes")
        # Separate sub-keys for data and for signing cookies, so neither use can leak the other.
        self._aead = AESGCM(hmac.new(key, b"whosthat/aes-gcm/v1", hashlib.sha256).digest())
        self.signing_key = hmac.new(key, b"whosthat/session-signing/v1", hashlib.sha256).hexdigest()

    # Low level -----------------------------------------------------------------------------------
    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        if not blob or blob[:1] != _VERSION or len(blob) < 1 + _NONCE_BYTES + 16:
            raise DecryptionError("unknown ciphertext format")
        nonce = blob[1 : 1 + _NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, blob[1 + _NONCE_BYTES :], aad)
        except InvalidTag as exc:
            raise DecryptionError("ciphertext did not authenticate (wrong key or tampered row)") from exc

    # Embeddings ------------------------------------------------------------------------------------
    @staticmethod
    def _template_aad(person_id: int, embedder: str) -> bytes:
        return f"whosthat/template|person={person_id}|embedder={embedder}".encode()

    def encrypt_embedding(self, embedding: np.ndarray, person_id: int, embedder: str) -> bytes:
        """float vector -> ciphertext bound to (person, embedder)."""
        vec = np.ascontiguousarray(embedding, dtype="<f4").ravel()
        return self.encrypt(vec.tobytes(), self._template_aad(person_id, embedder))

    def decrypt_embedding(self, blob: bytes, person_id: int, embedder: str) -> np.ndarray:
        return np.frombuffer(self.decrypt_embedding_bytes(blob, person_id, embedder), dtype="<f4").astype(
            np.float32
        )

    def decrypt_embedding_bytes(self, blob: bytes, person_id: int, embedder: str) -> bytes:
        """The plaintext little-endian float32 bytes (bulk loads append them into one buffer)."""
        return self.decrypt(blob, self._template_aad(person_id, embedder))

    # Chips -----------------------------------------------------------------------------------------
    @staticmethod
    def _chip_aad(person_id: int) -> bytes:
        return f"whosthat/chip|person={person_id}".encode()

    def encrypt_chip(self, chip: np.ndarray, person_id: int) -> bytes:
        """uint8[H, W, 3] aligned face chip -> ciphertext (zlib-compressed raw pixels inside)."""
        chip = np.ascontiguousarray(chip, dtype=np.uint8)
        if chip.ndim != 3 or chip.shape[2] != 3:
            raise ValueError(f"a chip is uint8[H, W, 3], got shape {chip.shape}")
        header = f"{chip.shape[0]}x{chip.shape[1]};".encode()
        return self.encrypt(header + zlib.compress(chip.tobytes(), 6), self._chip_aad(person_id))

    def decrypt_chip(self, blob: bytes, person_id: int) -> np.ndarray:
        raw = self.decrypt(blob, self._chip_aad(person_id))
        header, _, body = raw.partition(b";")
        h, w = (int(v) for v in header.decode().split("x"))
        return np.frombuffer(zlib.decompress(body), dtype=np.uint8).reshape(h, w, 3).copy()

    # Form drafts -------------------------------------------------------------------------------------
    @staticmethod
    def _draft_aad(draft_hash: str, part: str) -> bytes:
        return f"whosthat/draft|{draft_hash}|{part}".encode()

    def encrypt_draft(self, plaintext: bytes, draft_hash: str, part: str) -> bytes:
        """A form draft's values ("values") or one of its photos ("photo:N"), bound to the draft and
        the part, so no row can be moved to another draft or position."""
        return self.encrypt(plaintext, self._draft_aad(draft_hash, part))

    def decrypt_draft(self, blob: bytes, draft_hash: str, part: str) -> bytes:
        return self.decrypt(blob, self._draft_aad(draft_hash, part))
