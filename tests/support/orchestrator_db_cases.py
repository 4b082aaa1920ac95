"""ProjectDB test cases shared by both database backends: round trips, queue, leases, fencing,
migrations.

Collected where they are imported: on SQLite by tests/unit/test_orchestrator_db.py and on a
throw-away PostgreSQL database by tests/integration/test_orchestrator_db_postgres.py. Each of those
modules provides the `db_url` fixture these cases run against.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from lumiere.v1 import common_pb2, concept_pb2, orchestrator_pb2

from services.orchestrator.db import MIGRATIONS, LeaseLost, ProjectDB, make_engine, migrate

PS = orchestrator_pb2.ProjectState


@pytest.fixture
def make_db(db_url: str) -> Iterator[type[ProjectDB]]:
    opened: list[ProjectDB] = []

    def factory() -> ProjectDB:
        db = ProjectDB(db_url)
        opened.append(db)
        return db

    yield factory  # type: ignore[misc]
    for db in opened:
        db.close()


def _spec(pid: str) -> orchestrator_pb2.Project:
    return orchestrator_pb2.Project(
        id=pid,
        prompt="neon city",
        audio=common_pb2.ArtifactRef(key=f"uploads/{pid}/audio.wav", sha256="ab"),
        options=orchestrator_pb2.ProjectOptions(width=320, height=180, fps=12),
    )


def test_project_round_trip_and_outputs_survive_reopen(make_db) -> None:  # type: ignore[no-untyped-def]
    db = make_db()
    assert db.insert_project("p1", "neon city", _spec("p1"), now=100.0)
    assert not db.insert_project("p1", "again", _spec("p1"), now=101.0)
    assert db.request_run("p1", "full", 102.0, [PS.PROJECT_STATE_CREATED]) is not None
    assert db.claim("A", now=103.0, lease_s=10, limit=5, global_max=5) == ["p1"]
    concept = concept_pb2.Concept(duration_seconds=8.0, tempo_bpm=120)
    db.update_fenced(
        "p1", "A", state=PS.PROJECT_STATE_CONCEPT_GENERATED, concept=concept.SerializeToString()
    )
    db.upsert_task("A", "p1", "segment", 3, status="done", attempts_inc=1, input_hash="h")
    db.upsert_task("A", "p1", "segment", 3, attempts_inc=1, renders_inc=1)
    db.close()

    db2 = make_db()  # a restarted orchestrator sees everything
    row = db2.get("p1")
    assert row is not None
    assert row.state == PS.PROJECT_STATE_CONCEPT_GENERATED
    assert row.concept is not None and row.concept.tempo_bpm == 120
    assert row.spec.options.width == 320 and row.spec.audio.key == "uploads/p1/audio.wav"
    assert row.lease_owner == "A" and row.run_requested_at == 102.0
    (task,) = db2.get_tasks("p1")
    assert (task.stage, task.idx, task.status, task.attempts, task.renders) == (
        "segment",
        3,
        "done",
        2,
        1,
    )
    assert migrate(db2.engine) == 2  # idempotent


def test_list_is_newest_first_with_pages(make_db) -> None:  # type: ignore[no-untyped-def]
    db = make_db()
    for i in range(5):
        db.insert_project(f"p{i}", "x", _spec(f"p{i}"), now=float(i))
    first = db.list_page(2, None)
    assert [r.id for r in first] == ["p4", "p3"]
    second = db.list_page(2, (first[-1].created_at, first[-1].id))
    assert [r.id for r in second] == ["p2", "p1"]


def test_leases_exclusive_fenced_and_expire(make_db) -> None:  # type: ignore[no-untyped-def]
    db = make_db()
    for i in range(3):
        db.insert_project(f"p{i}", "x", _spec(f"p{i}"), now=float(i))
        db.request_run(f"p{i}", "full", 10.0 + i, [PS.PROJECT_STATE_CREATED])
    # Global limit 2: A gets the two oldest, B gets nothing while they are live.
    assert db.claim("A", now=20.0, lease_s=5, limit=5, global_max=2) == ["p0", "p1"]
    assert db.claim("B", now=21.0, lease_s=5, limit=5, global_max=2) == []
    # B may not write to A's project.
    with pytest.raises(LeaseLost):
        db.update_fenced("p0", "B", state=PS.PROJECT_STATE_COMPLETED)
    with pytest.raises(LeaseLost):
        db.upsert_task("B", "p0", "segment", 0, status="done")
    # A renews p0 only; after expiry B takes p1 over (and the remaining p2), never p0.
    assert db.renew("A", ["p0"], now=24.0, lease_s=5) == {"p0"}
    taken = db.claim("B", now=26.0, lease_s=5, limit=5, global_max=3)
    assert sorted(taken) == ["p1", "p2"]
    assert db.renew("A", ["p0", "p1"], now=26.5, lease_s=5) == {"p0"}
    # Finishing clears the queue entry and the lease.
    db.update_fenced("p0", "A", finish=True, state=PS.PROJECT_STATE_COMPLETED)
    row = db.get("p0")
    assert row is not None and row.run_requested_at is None and row.lease_owner is None
    # A cancelled project can no longer be written by its runner.
    assert db.cancel("p1", now=27.0)
    with pytest.raises(LeaseLost):
        db.update_fenced("p1", "B", state=PS.PROJECT_STATE_SEEDS_GENERATED)
    assert db.get("p1").state == PS.PROJECT_STATE_CANCELLED  # type: ignore[union-attr]


def test_request_run_only_from_allowed_states(make_db) -> None:  # type: ignore[no-untyped-def]
    db = make_db()
    db.insert_project("p", "x", _spec("p"), now=1.0)
    assert db.request_run("p", "full", 2.0, [PS.PROJECT_STATE_COMPLETED]) is None
    row = db.request_run("p", "full", 2.0, [PS.PROJECT_STATE_CREATED])
    assert row is not None and row.state == PS.PROJECT_STATE_PROCESSING
    # Already queued: a second request does not queue it twice.
    assert db.request_run("p", "full", 3.0, [PS.PROJECT_STATE_PROCESSING]) is None
    assert db.count_queued() == 1


def test_migrations_upgrade_an_old_database(db_url: str) -> None:
    engine = make_engine(db_url)
    # A database at schema version 1, with a project in it.
    with engine.begin() as conn:
        from services.orchestrator.db import schema_version

        schema_version.create(conn)
        MIGRATIONS[0][1](conn)
        conn.execute(schema_version.insert().values(version=1, applied_at=0.0))
        conn.execute(
            sa.text(
                "INSERT INTO lumiere_projects (id, prompt, state, spec, overrides, run_kind, "
                "failed_stage, error, error_retryable, created_at, updated_at, claims) VALUES "
                "('old', 'x', 6, :spec, '{}', 'full', '', '', false, 1.0, 1.0, 0)"
            ),
            {"spec": _spec("old").SerializeToString()},
        )
    engine.dispose()
    db = ProjectDB(db_url)  # migrates to the newest version
    try:
        row = db.get("old")
        assert row is not None and row.state == PS.PROJECT_STATE_COMPLETED
        assert row.processed_by == ""
        with db.engine.connect() as conn:
            versions = [
                r[0] for r in conn.execute(sa.text("SELECT version FROM lumiere_schema_version"))
            ]
        assert sorted(versions) == [v for v, _ in MIGRATIONS]
    finally:
        db.close()


def test_concurrent_claims_never_hand_out_a_project_twice(make_db) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    db = make_db()
    for i in range(30):
        db.insert_project(f"p{i}", "x", _spec(f"p{i}"), now=float(i))
        db.request_run(f"p{i}", "full", 100.0 + i, [PS.PROJECT_STATE_CREATED])
    replicas = [make_db() for _ in range(4)]

    def claim_all(n: int) -> list[str]:
        got: list[str] = []
        for _ in range(20):
            got += replicas[n].claim(f"R{n}", now=200.0, lease_s=60, limit=3, global_max=100)
        return got

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(claim_all, range(4)))
    everything = [pid for got in results for pid in got]
    assert sorted(everything) == sorted(f"p{i}" for i in range(30))  # each exactly once
