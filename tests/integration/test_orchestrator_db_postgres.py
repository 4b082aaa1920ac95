"""Project persistence on PostgreSQL: the ProjectDB cases of tests/unit/test_orchestrator_db.py,
run on the server at 127.0.0.1:5432 in a database of their own (created and dropped per test;
skipped when that server is unreachable).
"""

from __future__ import annotations

import pytest

from tests.support.orchestrator_db_cases import *  # noqa: F403  (the cases and `make_db`)

pytestmark = pytest.mark.integration


@pytest.fixture
def db_url(pg_url: str) -> str:
    return pg_url
