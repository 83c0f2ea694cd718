"""Which store a command means, decided without importing SQLAlchemy (``perflab history`` reads SQLite
files without it)."""

from __future__ import annotations

import os

DEFAULT_URL = "sqlite:///.perflab/perflab.db"


def store_url(url: str | None = None) -> str:
    """The URL a store is opened at: ``url``, else ``$PERFLAB_DB``, else ./.perflab/perflab.db."""
    return url or os.environ.get("PERFLAB_DB") or DEFAULT_URL
