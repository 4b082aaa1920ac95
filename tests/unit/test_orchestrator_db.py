"""Project persistence on SQLite in a temp dir: round trips, queue, leases, fencing, migrations.

The cases live in tests/support/orchestrator_db_cases.py; the same cases run on PostgreSQL in
tests/integration/test_orchestrator_db_postgres.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.orchestrator_db_cases import *  # noqa: F403  (the cases and `make_db`)


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'state.db'}"
