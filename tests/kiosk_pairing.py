"""Pair a test client as a kiosk (services/kiosks.py): register the kiosk (or give it a new code), pair
with the code, and put the device cookie on the client, as a kiosk browser would hold it."""

from __future__ import annotations

from whosthat.services import kiosks
from whosthat.services.common import Context
from whosthat.store import repositories as repo


def pairing_code(runtime, name: str) -> str:
    """A fresh one-time pairing code for the kiosk `name`, registering it first when needed."""
    with Context.open(runtime, address="test") as ctx:
        existing = repo.kiosks.by_name(ctx.db, name)
        if existing is not None:
            return kiosks.new_pairing_code(ctx, existing.id)[1]
        return kiosks.create_kiosk(ctx, name=name, site="tests")[1]


def pair_client(client, runtime, name: str = "lobby") -> str:
    """Make `client` the paired kiosk `name` (its device cookie set); returns the device token."""
    code = pairing_code(runtime, name)
    with Context.open(runtime, address="test") as ctx:
        _, token = kiosks.pair(ctx, code)
    client.cookies.set(kiosks.DEVICE_COOKIE, token)
    return token
