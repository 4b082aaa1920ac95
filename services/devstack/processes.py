"""Real service processes on loopback, for the local stack, the demo, tests and benchmarks.

Each process (`python -m services.<stage>`, or `python -m gateway`) gets its own port and the
shared data dir (so they share one local artifact store); `start` waits until a gRPC service
reports SERVING on its health service, or the gateway answers 200 on GET /health.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
SERVICE_NAMES = {
    "concept": "lumiere.v1.ConceptService",
    "seeder": "lumiere.v1.SeederService",
    "animator": "lumiere.v1.AnimatorService",
    "orchestrator": "lumiere.v1.OrchestratorService",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_serving(address: str, service: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                resp = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1.0)
                if resp.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError as exc:
                last = exc
            time.sleep(0.1)
    raise TimeoutError(f"{service} on {address} not SERVING after {timeout:.0f} s: {last}")


def wait_http_ok(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} not answering 200 after {timeout:.0f} s: {last}")


@dataclass
class ServiceProcess:
    stage: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    history: list[int] = field(default_factory=list)
    # In a session of its own, a terminal's Ctrl-C reaches only the parent, which then stops
    # the service with SIGTERM once it has finished with it (the `lumiere` command does so).
    own_session: bool = False

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def module(self) -> str:
        return "gateway" if self.stage == "gateway" else f"services.{self.stage}"

    def start(self, wait: bool = True) -> ServiceProcess:
        env = {**os.environ, **self.env, f"LUMIERE_{self.stage.upper()}_PORT": str(self.port)}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=self.own_session,
        )
        log.close()
        self.history.append(self.proc.pid)
        if wait:
            self.wait()
        return self

    def wait(self, timeout: float = 180.0) -> None:
        assert self.proc is not None
        try:
            if self.stage == "gateway":
                wait_http_ok(f"http://{self.address}/health", timeout)
            else:
                wait_serving(self.address, SERVICE_NAMES[self.stage], timeout)
        except TimeoutError:
            if self.proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(
                    f"{self.stage} exited ({self.proc.returncode}):\n{tail}"
                ) from None
            raise

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM: graceful shutdown (health NOT_SERVING, in-flight calls drain)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@dataclass
class ProcessStack:
    """concept + seeder + N animators (+ orchestrators added by the caller) on one data dir."""

    data_dir: Path
    animators: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: list[ServiceProcess] = field(default_factory=list)
    own_session: bool = False

    def __post_init__(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "logs").mkdir(exist_ok=True)
        self.concept = self._make("concept")
        self.seeder = self._make("seeder")
        self.animator_procs = [
            self._make("animator", f"animator{i}") for i in range(self.animators)
        ]

    def base_env(self) -> dict[str, str]:
        return {
            "LUMIERE_DATA_DIR": str(self.data_dir),
            "LUMIERE_HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            "LUMIERE_LOG_LEVEL": "INFO",
            **self.extra_env,
        }

    def _make(
        self, stage: str, name: str | None = None, env: dict[str, str] | None = None
    ) -> ServiceProcess:
        proc = ServiceProcess(
            stage,
            free_port(),
            {**self.base_env(), **(env or {})},
            self.data_dir / "logs" / f"{name or stage}.log",
            own_session=self.own_session,
        )
        self.procs.append(proc)
        return proc

    @property
    def animator_addrs(self) -> str:
        return ",".join(a.address for a in self.animator_procs)

    def orchestrator(self, name: str, env: dict[str, str] | None = None) -> ServiceProcess:
        return self._make(
            "orchestrator",
            name,
            {
                "LUMIERE_CONCEPT_ADDR": self.concept.address,
                "LUMIERE_SEEDER_ADDR": self.seeder.address,
                "LUMIERE_ANIMATOR_ADDRS": self.animator_addrs,
                "LUMIERE_ORCHESTRATOR_ID": name,
                **(env or {}),
            },
        )

    def start_stages(self) -> None:
        # Start everything first, then wait: the imports overlap instead of adding up.
        stages = [self.concept, self.seeder, *self.animator_procs]
        for p in stages:
            p.start(wait=False)
        for p in stages:
            p.wait()

    def stop_all(self) -> None:
        for p in reversed(self.procs):
            p.stop()


class LocalStack(ProcessStack):
    """The whole stack: stages, one orchestrator and the gateway in front, started in order."""

    def __init__(
        self,
        data_dir: Path,
        animators: int = 1,
        extra_env: dict[str, str] | None = None,
        fixed_ports: bool = False,
        own_session: bool = False,
    ) -> None:
        super().__init__(data_dir.resolve(), animators, extra_env or {}, own_session=own_session)
        if fixed_ports:
            # The ports from settings (LUMIERE_*_PORT), for `make stack`; replicas step by 100.
            from services.common.settings import Settings

            s = Settings()
            self.concept.port, self.seeder.port = s.concept_port, s.seeder_port
            for i, proc in enumerate(self.animator_procs):
                proc.port = s.animator_port + 100 * i
        self.main_orchestrator = self.orchestrator("orchestrator")
        self.gateway = self._make(
            "gateway", env={"LUMIERE_ORCHESTRATOR_ADDR": self.main_orchestrator.address}
        )
        if fixed_ports:
            self.main_orchestrator.port, self.gateway.port = s.orchestrator_port, s.gateway_port
            self.gateway.env["LUMIERE_ORCHESTRATOR_ADDR"] = self.main_orchestrator.address
        # The gateway's /health also probes the stages behind the orchestrator.
        self.gateway.env.update(
            {
                "LUMIERE_CONCEPT_ADDR": self.concept.address,
                "LUMIERE_SEEDER_ADDR": self.seeder.address,
                "LUMIERE_ANIMATOR_ADDRS": self.animator_addrs,
            }
        )

    @property
    def gateway_url(self) -> str:
        return f"http://{self.gateway.address}"

    def start(self) -> LocalStack:
        try:
            self.start_stages()
            self.main_orchestrator.start()
            self.gateway.start()
        except BaseException:
            self.stop_all()
            raise
        return self

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
