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

from services.orchestrator.db import LeaseLost, ProjectDB
from services.orchestrator.overrides import RunOverrides
from services.orchestrator.rows import TaskKey
from services.orchestrator.schema import MIGRATIONS, make_engine, migrate, schema_version

PS = orchestrator_pb2.ProjectState
FULL, PREVIEW = common_pb2.RUN_KIND_FULL, common_pb2.RUN_KIND_PREVIEW
SEGMENT_3 = TaskKey(common_pb2.STAGE_ANIMATOR, FULL, 3)


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
    assert db.request_run("p1", FULL, 102.0, [PS.PROJECT_STATE_CREATED]) is not None
    assert db.leases.claim("A", now=103.0, lease_s=10, limit=5, global_max=5) == ["p1"]
    concept = concept_pb2.Concept(duration_seconds=8.0, tempo_bpm=120)
    db.save_concept("p1", "A", concept, now=104.0)
    db.save_state("p1", "A", PS.PROJECT_STATE_CONCEPT_GENERATED, common_pb2.Progress(), 104.0)
    db.tasks.started("A", "p1", SEGMENT_3, "anim-1", now=105.0)
    db.tasks.done("A", "p1", SEGMENT_3, seconds=1.0, now=106.0, input_hash="h")
    db.tasks.started("A", "p1", SEGMENT_3, "anim-2", now=107.0)
    db.close()

    db2 = make_db()  # a restarted orchestrator sees everything
    row = db2.get("p1")
    assert row is not None
    assert row.state == PS.PROJECT_STATE_CONCEPT_GENERATED
    assert row.concept is not None and row.concept.tempo_bpm == 120
    assert row.spec.options.width == 320 and row.spec.audio.key == "uploads/p1/audio.wav"
    assert row.lease_owner == "A" and row.run_requested_at == 102.0
    (task,) = db2.tasks.get("p1")
    assert (task.key, task.status, task.attempts, task.renders, task.replica) == (
        SEGMENT_3,
        common_pb2.TASK_STATUS_RUNNING,
        2,
        1,
        "anim-2",
    )
    assert migrate(db2.engine) == MIGRATIONS[-1][0]  # idempotent


def test_run_outputs_are_saved_by_name(make_db) -> None:  # type: ignore[no-untyped-def]
    db = make_db()
    db.insert_project("p", "x", _spec("p"), now=1.0)
    overrides = RunOverrides(segment_seeds={2: 7}, redraw=("km1",))
    db.request_run("p", common_pb2.RUN_KIND_REGENERATE, 2.0, [PS.PROJECT_STATE_CREATED], overrides)
    db.leases.claim("A", now=3.0, lease_s=10, limit=1, global_max=1)
    preview = common_pb2.ArtifactRef(key="outputs/p/preview.mp4")
    db.save_video("p", "A", PREVIEW, preview, "hash-p", now=4.0)
    row = db.get("p")
    assert row is not None
    assert row.run_kind == common_pb2.RUN_KIND_REGENERATE and row.overrides == overrides
    assert row.video(PREVIEW) == (preview, "hash-p")
    assert row.video(FULL) == (None, None)
    db.fail("p", "A", common_pb2.STAGE_SEEDER, "no keyframes", True, common_pb2.Progress(), 5.0)
    row = db.get("p")
    assert row is not None and row.state == PS.PROJECT_STATE_FAILED
    assert (row.failed_stage, row.error, row.error_retryable) == (
        common_pb2.STAGE_SEEDER,
        "no keyframes",
        True,
    )
    assert row.run_requested_at is None and row.lease_owner is None


def test_a_plan_counts_reuses_and_drops_tasks_beyond_it(make_db) -> None:  # type: ignore[no-untyped-def]
    db = make_db()
    db.insert_project("p", "x", _spec("p"), now=1.0)
    db.request_run("p", FULL, 2.0, [PS.PROJECT_STATE_CREATED])
    db.leases.claim("A", now=3.0, lease_s=10, limit=1, global_max=1)
    animator = common_pb2.STAGE_ANIMATOR
    db.tasks.plan("A", "p", animator, FULL, 3, [], {0: "a", 1: "b", 2: "c"})
    db.tasks.plan("A", "p", animator, PREVIEW, 1, [], {0: "z"})
    db.tasks.plan("A", "p", animator, FULL, 2, [0], {1: "b2"})
    full = {t.key.idx: t for t in db.tasks.get("p", animator, FULL)}
    assert sorted(full) == [0, 1]
    assert (full[0].reused, full[1].input_hash) == (1, "b2")
    assert [t.input_hash for t in db.tasks.get("p", animator, PREVIEW)] == ["z"]


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
        db.request_run(f"p{i}", FULL, 10.0 + i, [PS.PROJECT_STATE_CREATED])
    # Global limit 2: A gets the two oldest, B gets nothing while they are live.
    assert db.leases.claim("A", now=20.0, lease_s=5, limit=5, global_max=2) == ["p0", "p1"]
    assert db.leases.claim("B", now=21.0, lease_s=5, limit=5, global_max=2) == []
    # B may not write to A's project.
    with pytest.raises(LeaseLost):
        db.finish("p0", "B", common_pb2.Progress(), now=22.0)
    with pytest.raises(LeaseLost):
        db.tasks.started("B", "p0", SEGMENT_3, "anim", now=22.0)
    # A renews p0 only; after expiry B takes p1 over (and the remaining p2), never p0.
    assert db.leases.renew("A", ["p0"], now=24.0, lease_s=5) == {"p0"}
    taken = db.leases.claim("B", now=26.0, lease_s=5, limit=5, global_max=3)
    assert sorted(taken) == ["p1", "p2"]
    assert db.leases.renew("A", ["p0", "p1"], now=26.5, lease_s=5) == {"p0"}
    # Finishing clears the queue entry and the lease.
    db.finish("p0", "A", common_pb2.Progress(), now=26.6)
    row = db.get("p0")
    assert row is not None and row.state == PS.PROJECT_STATE_COMPLETED
    assert row.run_requested_at is None and row.lease_owner is None
    # A cancelled project can no longer be written by its runner.
    assert db.cancel("p1", now=27.0)
    with pytest.raises(LeaseLost):
        db.save_state("p1", "B", PS.PROJECT_STATE_SEEDS_GENERATED, common_pb2.Progress(), 27.5)
    assert db.get("p1").state == PS.PROJECT_STATE_CANCELLED  # type: ignore[union-attr]


def test_request_run_only_from_allowed_states(make_db) -> None:  # type: ignore[no-untyped-def]
    db = make_db()
    db.insert_project("p", "x", _spec("p"), now=1.0)
    assert db.request_run("p", FULL, 2.0, [PS.PROJECT_STATE_COMPLETED]) is None
    row = db.request_run("p", FULL, 2.0, [PS.PROJECT_STATE_CREATED])
    assert row is not None and row.state == PS.PROJECT_STATE_PROCESSING
    # Already queued: a second request does not queue it twice.
    assert db.request_run("p", FULL, 3.0, [PS.PROJECT_STATE_PROCESSING]) is None
    assert db.count_queued() == 1


def _database_at(db_url: str, version: int) -> sa.engine.Engine:
    """A database at an older schema version (what a previous release left behind)."""
    engine = make_engine(db_url)
    with engine.begin() as conn:
        schema_version.create(conn)
        for v, step in MIGRATIONS[:version]:
            step(conn)
            conn.execute(schema_version.insert().values(version=v, applied_at=0.0))
    return engine


def test_migrations_upgrade_an_old_database(db_url: str) -> None:
    engine = _database_at(db_url, 1)
    with engine.begin() as conn:
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


def test_tasks_of_the_previous_schema_keep_their_renders(db_url: str) -> None:
    """Schema 2 labelled tasks "segment", "preview_segment", "preview_compose"; schema 3 reads
    them as (stage, run kind) with their counters and outputs, so nothing is rendered again."""
    engine = _database_at(db_url, 2)
    labels = ["concept", "seeder", "segment", "compose", "preview_segment", "preview_compose"]
    with engine.begin() as conn:
        for label in labels:
            conn.execute(
                sa.text(
                    "INSERT INTO lumiere_tasks (project_id, stage, idx, status, attempts, seconds, "
                    "error, retryable, replica, input_hash, output, reused, renders) VALUES "
                    "('old', :label, 0, 'done', 1, 0.5, '', false, 'a:1', :label, :out, 2, 1)"
                ),
                {"label": label, "out": label.encode()},
            )
    engine.dispose()
    db = ProjectDB(db_url)
    try:
        got = {(t.key.stage, t.key.run_kind): t for t in db.tasks.get("old")}
        s = common_pb2
        assert set(got) == {
            (s.STAGE_CONCEPT, FULL),
            (s.STAGE_SEEDER, FULL),
            (s.STAGE_ANIMATOR, FULL),
            (s.STAGE_COMPOSE, FULL),
            (s.STAGE_ANIMATOR, PREVIEW),
            (s.STAGE_COMPOSE, PREVIEW),
        }
        segment = got[(s.STAGE_ANIMATOR, PREVIEW)]
        assert (segment.output, segment.input_hash) == (b"preview_segment", "preview_segment")
        assert (segment.status, segment.renders, segment.reused) == (s.TASK_STATUS_DONE, 1, 2)
        assert not sa.inspect(db.engine).has_table("lumiere_tasks")
    finally:
        db.close()


def test_concurrent_claims_never_hand_out_a_project_twice(make_db) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    db = make_db()
    for i in range(30):
        db.insert_project(f"p{i}", "x", _spec(f"p{i}"), now=float(i))
        db.request_run(f"p{i}", FULL, 100.0 + i, [PS.PROJECT_STATE_CREATED])
    replicas = [make_db() for _ in range(4)]

    def claim_all(n: int) -> list[str]:
        got: list[str] = []
        for _ in range(20):
            got += replicas[n].leases.claim(f"R{n}", now=200.0, lease_s=60, limit=3, global_max=100)
        return got

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(claim_all, range(4)))
    everything = [pid for got in results for pid in got]
    assert sorted(everything) == sorted(f"p{i}" for i in range(30))  # each exactly once
