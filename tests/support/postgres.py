"""Throw-away PostgreSQL databases for tests, on the server at 127.0.0.1:5432.

Each database gets a unique name and is dropped afterwards (WITH (FORCE), so connections a test
left open do not block the drop). When the server is unreachable the test is skipped, not failed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_SERVER_URL = "postgresql://postgres@127.0.0.1:5432"
PG_ADMIN_URL = f"{PG_SERVER_URL}/test"


@contextmanager
def throwaway_database() -> Iterator[str]:
    """Create a fresh, uniquely named database; yield its URL; drop it afterwards."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is unreachable: {exc}")
    name = f"lumiere_t_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER_URL}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
