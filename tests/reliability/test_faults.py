"""Faults on real processes (issue 14): every service is its own `python -m` process sharing an
S3 server (moto, a process too), projects are submitted to the orchestrator over gRPC, and each
fault must end with every project completed — none failed, none stuck, every video whole.

- one of two animators killed mid-render (and left dead);
- one of two animators drained (SIGTERM) mid-render: its segment is handed back;
- a stage (the seeder) down for longer than the old ~8 s failure window, then back;
- the orchestrator restarted mid-run (SIGTERM, as a rolling update does);
- the S3 endpoint stopped mid-run (connections refused and cut, a proxy in front of moto that
  keeps the objects), then back on the same port;
- the S3 server frozen mid-run (SIGSTOP ... SIGCONT), then answering again.

The outage lengths are bounded so the module stays around a minute and a half; set
LUMIERE_RELIABILITY_OUTAGE_S (e.g. 30) for the issue's full-length outages.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import grpc
import pytest
from lumiere.v1 import common_pb2, orchestrator_pb2, orchestrator_pb2_grpc

from services.common import contract
from services.common.grpc_client import sync_channel
from services.common.storage import S3Store
from services.devstack.processes import ProcessStack, ServiceProcess
from tests.support.s3_server import free_port, s3_settings
from tests.support.songs import write_short_song
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration
pb = orchestrator_pb2
PS = pb.ProjectState
FINISHED = {PS.PROJECT_STATE_COMPLETED, PS.PROJECT_STATE_FAILED, PS.PROJECT_STATE_CANCELLED}
# Longer than the ~8 s after which a stage outage used to fail every project.
OUTAGE_S = float(os.environ.get("LUMIERE_RELIABILITY_OUTAGE_S", "12"))
FPS = 12


@dataclass
class Faults:
    stack: ProcessStack
    orchestrator: ServiceProcess
    s3: subprocess.Popen[bytes]
    # What the services reach S3 through: stopping it is S3 going away.
    s3_endpoint: TcpProxy
    store: S3Store
    song: Path
    # Every fault's tally, for the closing table: (fault, projects, completed).
    tally: list[tuple[str, int, int]]

    def stub(self) -> orchestrator_pb2_grpc.OrchestratorServiceStub:
        return orchestrator_pb2_grpc.OrchestratorServiceStub(
            sync_channel(self.orchestrator.address)
        )

    def submit(self, n: int, name: str) -> list[str]:
        stub = self.stub()
        ids = []
        for i in range(n):
            pid = f"{name}-{i}-{contract.new_project_id()[:8]}"
            ref = self.store.put_file(contract.audio_key(pid, "wav"), self.song, "audio/wav")
            stub.CreateProject(
                pb.CreateProjectRequest(
                    project_id=pid,
                    prompt="a paper boat in a neon city",
                    audio=ref,
                    options=pb.ProjectOptions(width=320, height=180, fps=FPS, seed=i + 1),
                ),
                timeout=10,
            )
            stub.ProcessProject(pb.ProcessProjectRequest(project_id=pid), timeout=10)
            ids.append(pid)
        return ids

    def project(self, pid: str) -> pb.Project:
        return self.stub().GetProject(pb.GetProjectRequest(project_id=pid), timeout=5).project

    def wait_until(self, what: str, predicate: Callable[[], object], timeout: float) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = predicate()
            except grpc.RpcError:
                value = None
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"timed out waiting for {what}\n{self.logs()}")

    def all_completed(self, fault: str, ids: list[str], timeout: float = 150) -> None:
        def finished() -> list[pb.Project] | None:
            projects = [self.project(pid) for pid in ids]
            return projects if all(p.state in FINISHED for p in projects) else None

        projects = self.wait_until(f"{fault}: every project to finish", finished, timeout)
        assert isinstance(projects, list)
        done = [p for p in projects if p.state == PS.PROJECT_STATE_COMPLETED]
        self.tally.append((fault, len(ids), len(done)))
        failed = [(p.id, p.failed_stage, p.error) for p in projects if p not in done]
        assert not failed, failed
        for p in done:  # no data lost: the whole video is there
            with self.store.local_path(p.final_video.key) as path, av.open(str(path)) as video:
                assert sum(1 for _ in video.decode(video=0)) == p.segments[-1].end_frame

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.log_path.name}\n{p.log_path.read_text(errors='replace')[-1200:]}"
            for p in self.stack.procs
            if p.log_path.exists()
        )


def _moto(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faults]:
    root = tmp_path_factory.mktemp("faults")
    port = free_port()
    s3 = _moto(port)
    proxy = TcpProxy(port).start()
    settings = s3_settings(proxy.endpoint, root / "data", "lumiere-faults")
    env = {
        "LUMIERE_STORAGE_BACKEND": "s3",
        "LUMIERE_S3_ENDPOINT": settings.s3_endpoint,
        "LUMIERE_S3_ACCESS_KEY": settings.s3_access_key,
        "LUMIERE_S3_SECRET_KEY": settings.s3_secret_key,
        "LUMIERE_S3_BUCKET": settings.s3_bucket,
        "LUMIERE_S3_REGION": settings.s3_region,
    }
    stack = ProcessStack(root / "data", animators=2, extra_env=env)
    # The second animator drains for 1 s on SIGTERM, so a segment it renders is handed back.
    stack.animator_procs[1].env["LUMIERE_SHUTDOWN_GRACE_S"] = "1"
    orchestrator = stack.orchestrator(
        "orch-faults",
        {
            # One segment per replica at a time: both replicas are busy, so losing one matters.
            "LUMIERE_ANIMATOR_INFLIGHT_PER_REPLICA": "1",
            "LUMIERE_ORCHESTRATOR_LEASE_S": "3",
        },
    )
    tally: list[tuple[str, int, int]] = []
    try:
        store = S3Store(settings)  # waits for the server (its outage retry) and makes the bucket
        write_short_song(root / "song.wav", seed=11)
        stack.start_stages()
        orchestrator.start()
        yield Faults(stack, orchestrator, s3, proxy, store, root / "song.wav", tally)
    finally:
        stack.stop_all()
        proxy.stop()
        s3.send_signal(signal.SIGCONT)
        s3.terminate()
        s3.wait(10)
        print("\nfault                          projects  completed  lost")
        for fault, n, done in tally:
            print(f"{fault:<30} {n:>8}  {done:>9}  {n - done:>4}")


def _rendering_on(faults: Faults, ids: list[str], target: str) -> bool:
    for pid in ids:
        project = faults.project(pid)
        assert project.state not in FINISHED or project.state == PS.PROJECT_STATE_COMPLETED, (
            project.id,
            project.error,
        )
        for task in project.tasks:
            if (
                task.stage == common_pb2.STAGE_ANIMATOR
                and task.status == common_pb2.TASK_STATUS_RUNNING
                and task.replica == target
            ):
                return True
    return False


@pytest.mark.parametrize(
    ("replica", "how", "fault"),
    [
        # Killed, and left dead until every project is done.
        (0, ServiceProcess.kill, "animator killed mid-render"),
        # SIGTERM: NOT_SERVING, no new segments, the running one handed back after 1 s.
        (1, ServiceProcess.stop, "animator drained (SIGTERM)"),
    ],
)
def test_one_of_two_animators_lost_mid_render(
    faults: Faults, replica: int, how: Callable[[ServiceProcess], None], fault: str
) -> None:
    victim = faults.stack.animator_procs[replica]
    ids = faults.submit(3 if replica == 0 else 2, f"animator-{replica}")
    faults.wait_until(
        f"a segment rendering on animator {replica}",
        lambda: _rendering_on(faults, ids, victim.address),
        90,
    )
    how(victim)
    try:
        faults.all_completed(fault, ids)
    finally:
        victim.start()


def test_a_stage_down_longer_than_the_old_failure_window(faults: Faults) -> None:
    seeder = faults.stack.seeder
    seeder.kill()
    down_at = time.monotonic()
    ids = faults.submit(2, "seeder-down")
    # The projects get through the concept and then wait for the seeder.
    faults.wait_until(
        "the concept of every project",
        lambda: all(faults.project(p).state == PS.PROJECT_STATE_CONCEPT_GENERATED for p in ids),
        60,
    )
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
    assert all(faults.project(p).state == PS.PROJECT_STATE_CONCEPT_GENERATED for p in ids)
    seeder.start()
    faults.all_completed(f"seeder down {OUTAGE_S:.0f} s", ids)


def test_the_orchestrator_restarted_mid_run(faults: Faults) -> None:
    ids = faults.submit(2, "orch-restart")
    faults.wait_until(
        "the first project to get past its concept",
        lambda: (
            faults.project(ids[0]).state
            in (PS.PROJECT_STATE_SEEDS_GENERATED, PS.PROJECT_STATE_CONCEPT_GENERATED)
        ),
        60,
    )
    faults.orchestrator.stop()  # SIGTERM: leases handed back, as in a rolling update
    faults.orchestrator.start()
    faults.all_completed("orchestrator restarted", ids)


def _s3_outage(faults: Faults, kind: str) -> tuple[Callable[[], object], Callable[[], object]]:
    """How S3 goes away and comes back: stopped (refused, connections cut) or frozen."""
    if kind == "stopped":
        return faults.s3_endpoint.stop, faults.s3_endpoint.start
    return (
        lambda: faults.s3.send_signal(signal.SIGSTOP),
        lambda: faults.s3.send_signal(signal.SIGCONT),
    )


@pytest.mark.parametrize("kind", ["stopped", "frozen"])
def test_the_s3_server_gone_mid_run(faults: Faults, kind: str) -> None:
    ids = faults.submit(2, f"s3-{kind}")
    faults.wait_until(
        "the first project to get past its concept",
        lambda: faults.project(ids[0]).state != PS.PROJECT_STATE_PROCESSING,
        60,
    )
    down, up = _s3_outage(faults, kind)
    down()
    try:
        time.sleep(OUTAGE_S)
    finally:
        up()
    faults.all_completed(f"S3 {kind} {OUTAGE_S:.0f} s", ids)
