"""Run the five services as separate processes on loopback, in order, waited on through health.

Used by `make stack`, the demo and the end-to-end tests. Each service is started with
`python -m <module>` and its own environment (ports, data dir, animator replicas), and is
considered up when its gRPC health service answers SERVING (the gateway: when GET /health
answers 200).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServiceProcess:
    name: str
    module: str
    port: int
    env: dict[str, str]
    grpc_service: str | None  # None = HTTP service checked through /health
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def wait_grpc_serving(address: str, service: str, timeout: float) -> None:
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
    raise TimeoutError(f"{service} at {address} not SERVING after {timeout}s: {last}")


def wait_http_ok(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} not answering 200 after {timeout}s: {last}")


@dataclass
class LocalStack:
    """The whole stack as child processes. Ports default to free ones."""

    data_dir: Path
    animators: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    fixed_ports: bool = False  # True = use the LUMIERE_*_PORT settings (the demo)
    log_dir: Path | None = None
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from services.common.settings import Settings

        self.data_dir = self.data_dir.resolve()
        s = Settings()
        if self.fixed_ports:
            ports = {
                "concept": s.concept_port,
                "seeder": s.seeder_port,
                "orchestrator": s.orchestrator_port,
                "gateway": s.gateway_port,
            }
            animator_ports = [s.animator_port + 100 * i for i in range(self.animators)]
        else:
            ports = {n: free_port() for n in ("concept", "seeder", "orchestrator", "gateway")}
            animator_ports = [free_port() for _ in range(self.animators)]
        base = {
            **os.environ,
            **self.extra_env,
            "LUMIERE_DATA_DIR": str(self.data_dir),
            "LUMIERE_HOST": "127.0.0.1",
            "LUMIERE_CONCEPT_ADDR": f"127.0.0.1:{ports['concept']}",
            "LUMIERE_SEEDER_ADDR": f"127.0.0.1:{ports['seeder']}",
            "LUMIERE_ANIMATOR_ADDRS": ",".join(f"127.0.0.1:{p}" for p in animator_ports),
            "LUMIERE_ORCHESTRATOR_ADDR": f"127.0.0.1:{ports['orchestrator']}",
            "PYTHONUNBUFFERED": "1",
        }

        def add(name: str, module: str, port_var: str, port: int, grpc_name: str | None) -> None:
            env = {**base, port_var: str(port)}
            self.services[name] = ServiceProcess(name, module, port, env, grpc_name)

        add(
            "concept",
            "services.concept",
            "LUMIERE_CONCEPT_PORT",
            ports["concept"],
            "lumiere.v1.ConceptService",
        )
        add(
            "seeder",
            "services.seeder",
            "LUMIERE_SEEDER_PORT",
            ports["seeder"],
            "lumiere.v1.SeederService",
        )
        for i, port in enumerate(animator_ports):
            add(
                f"animator-{i}",
                "services.animator",
                "LUMIERE_ANIMATOR_PORT",
                port,
                "lumiere.v1.AnimatorService",
            )
        add(
            "orchestrator",
            "services.orchestrator",
            "LUMIERE_ORCHESTRATOR_PORT",
            ports["orchestrator"],
            "lumiere.v1.OrchestratorService",
        )
        add("gateway", "gateway", "LUMIERE_GATEWAY_PORT", ports["gateway"], None)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.services['gateway'].port}"

    def start_service(self, name: str, timeout: float = 60.0) -> None:
        svc = self.services[name]
        log_dir = self.log_dir or (self.data_dir / "logs")
        log_dir.mkdir(parents=True, exist_ok=True)
        svc.log = (log_dir / f"{name}.log").open("ab")
        svc.proc = subprocess.Popen(
            [sys.executable, "-m", svc.module],
            env=svc.env,
            stdout=svc.log,
            stderr=subprocess.STDOUT,
        )
        try:
            if svc.grpc_service:
                wait_grpc_serving(svc.address, svc.grpc_service, timeout)
            else:
                wait_http_ok(f"http://{svc.address}/health", timeout)
        except TimeoutError:
            code = svc.proc.poll()
            raise RuntimeError(
                f"{name} did not come up (exit code {code}); see {log_dir / (name + '.log')}"
            ) from None

    def start(self, timeout: float = 60.0) -> LocalStack:
        # Stages first, then the orchestrator that calls them, then the gateway in front.
        try:
            for name in self.services:
                self.start_service(name, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop_service(self, name: str, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        svc = self.services[name]
        if svc.proc is not None and svc.proc.poll() is None:
            svc.proc.send_signal(sig)
            try:
                svc.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                svc.proc.kill()
                svc.proc.wait()
        if svc.log is not None:
            svc.log.close()
            svc.log = None

    def stop(self) -> None:
        for name in reversed(list(self.services)):
            with contextlib.suppress(Exception):
                self.stop_service(name)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
