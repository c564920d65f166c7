"""Backups that restore: one encrypted file holding a consistent snapshot of the database and the
encryption key, written while the server runs, and restored into a fresh WHOSTHAT_HOME.

File format: MAGIC, a 16-byte scrypt salt, a 12-byte nonce, then AES-256-GCM over the
zlib-compressed JSON document {"format", "created_at", "revision", "key", "tables"}. The passphrase
derives the file key with scrypt (n=2**15, r=8, p=1), so the file alone (which contains the template
key) is worthless without it. A wrong passphrase or a changed byte fails the GCM tag: nothing is
restored then.
"""

from __future__ import annotations

import base64
import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from whosthat.errors import BadInputError
from whosthat.services.errors import ConflictError, ValidationError
from whosthat.store import repositories as repo
from whosthat.store.crypto import KEY_FILE_NAME, load_or_create_key
from whosthat.store.db import DATA_FILE_MODE, open_database
from whosthat.store.models import utcnow

MAGIC = b"WHOSTHAT-BACKUP-1\n"
FORMAT = 1
MIN_PASSPHRASE = 12


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    bytes: int
    rows: int
    revision: str | None
    created_at: str


def _file_key(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode("utf-8"))


def _check_passphrase(passphrase: str) -> None:
    if not passphrase or len(passphrase) < MIN_PASSPHRASE:
        raise ValidationError(f"the backup passphrase needs at least {MIN_PASSPHRASE} characters")


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` (0600) through a temporary file and a rename: never half a file."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, DATA_FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def backup(settings, out: Path, passphrase: str) -> BackupInfo:
    """Write an encrypted snapshot of `settings`' database and key to `out` (safe while serving)."""
    _check_passphrase(passphrase)
    out = Path(out)
    key = load_or_create_key(settings.secret_key, settings.home)
    database = open_database(settings)
    try:
        with repo.snapshot.consistent_read(database.engine) as conn:
            revision = repo.snapshot.schema_revision(conn)
            tables = repo.snapshot.dump(conn)
    finally:
        database.dispose()
    created = utcnow().isoformat()
    document = {
        "format": FORMAT,
        "created_at": created,
        "revision": revision,
        "key": base64.b64encode(key).decode("ascii"),
        "tables": tables,
    }
    plain = zlib.compress(json.dumps(document, separators=(",", ":")).encode("utf-8"), 6)
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_file_key(passphrase, salt)).encrypt(nonce, plain, MAGIC)
    data = MAGIC + salt + nonce + sealed
    _write_private(out, data)
    rows = sum(len(r) for r in tables.values())
    return BackupInfo(out, len(data), rows, revision, created)


def read_backup(path: Path, passphrase: str) -> dict:
    """The decrypted document of a backup file; BadInputError when it is not one or the passphrase
    is wrong (or the file was changed)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 28 + 16:
        raise BadInputError(f"{path} is not a whosthat backup")
    body = data[len(MAGIC) :]
    salt, nonce, sealed = body[:16], body[16:28], body[28:]
    try:
        plain = AESGCM(_file_key(passphrase or "", salt)).decrypt(nonce, sealed, MAGIC)
    except InvalidTag:
        raise BadInputError("wrong passphrase, or the backup file was changed") from None
    document = json.loads(zlib.decompress(plain))
    if document.get("format") != FORMAT:
        raise BadInputError(f"backup format {document.get('format')} is not supported")
    return document


def restore(settings, path: Path, passphrase: str) -> BackupInfo:
    """Restore a backup into `settings`' home and database, which must be empty (a fresh home, or a
    new PostgreSQL database): the key file is written (0600) and every row loaded."""
    document = read_backup(path, passphrase)
    key = base64.b64decode(document["key"])
    home = Path(settings.home)
    home.mkdir(parents=True, exist_ok=True)
    key_file = home / KEY_FILE_NAME
    if settings.secret_key:
        if load_or_create_key(settings.secret_key, home) != key:
            raise ConflictError(
                "WHOSTHAT_SECRET_KEY differs from the backup's key: unset it or set it to the backup's"
            )
    elif key_file.exists():
        if load_or_create_key(None, home) != key:
            raise ConflictError(f"{key_file} exists and holds another key: restore into a fresh home")
    database = open_database(settings)  # migrates an empty database to the newest schema
    try:
        with database.engine.begin() as conn:
            if not repo.snapshot.is_empty(conn):
                raise ConflictError("the target database is not empty: restore into a fresh home or database")
            revision = repo.snapshot.schema_revision(conn)
            if document.get("revision") != revision:
                raise ValidationError(
                    f"the backup's schema is revision {document.get('revision')}, this version's is {revision}: "
                    "restore with the whosthat version that wrote it"
                )
            rows = repo.snapshot.load(conn, document["tables"])
    finally:
        database.dispose()
    if not settings.secret_key and not key_file.exists():
        _write_private(key_file, base64.b64encode(key) + b"\n")
    return BackupInfo(
        Path(path), Path(path).stat().st_size, rows, document.get("revision"), document["created_at"]
    )
