"""The gateway's view of the orchestrator: one aio channel, deadlines, gRPC -> HTTP errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from lumiere.v1 import orchestrator_pb2 as opb
from lumiere.v1 import orchestrator_pb2_grpc as opb_grpc

from services.common.grpc_client import aio_channel

# gRPC status -> HTTP status for the JSON error body {"detail": message}.
HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.CANCELLED: 499,
}


def http_status(code: grpc.StatusCode) -> int:
    return HTTP_STATUS.get(code, 502)


def rpc_detail(exc: grpc.aio.AioRpcError) -> str:
    details = exc.details() or ""
    if exc.code() == grpc.StatusCode.UNAVAILABLE:
        return f"the orchestrator is unavailable: {details}".rstrip(": ")
    if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return "the orchestrator did not answer in time"
    return details or exc.code().name.lower()


class Orchestrator:
    """Thin async wrapper over OrchestratorService; every unary call carries a deadline."""

    def __init__(self, target: str, timeout_s: float) -> None:
        self.target = target
        self.timeout = timeout_s
        self.channel = aio_channel(target)
        self.stub = opb_grpc.OrchestratorServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    def has(self, method: str) -> bool:
        """Whether the generated stub knows an RPC (some are added while we build against it)."""
        return hasattr(self.stub, method)

    async def create(self, request: opb.CreateProjectRequest) -> opb.Project:
        resp = await self.stub.CreateProject(request, timeout=self.timeout)
        return resp.project

    async def get(self, project_id: str) -> opb.Project:
        resp = await self.stub.GetProject(
            opb.GetProjectRequest(project_id=project_id), timeout=self.timeout
        )
        return resp.project

    async def list_page(self, page_size: int = 0, page_token: str = "") -> opb.ListProjectsResponse:
        return await self.stub.ListProjects(
            opb.ListProjectsRequest(page_size=page_size, page_token=page_token),
            timeout=self.timeout,
        )

    async def list_all(self, max_pages: int = 100) -> list[opb.Project]:
        projects: list[opb.Project] = []
        token = ""
        for _ in range(max_pages):
            resp = await self.list_page(page_size=500, page_token=token)
            projects.extend(resp.projects)
            token = resp.next_page_token
            if not token:
                break
        return projects

    async def process(self, project_id: str) -> opb.Project:
        resp = await self.stub.ProcessProject(
            opb.ProcessProjectRequest(project_id=project_id), timeout=self.timeout
        )
        return resp.project

    def watch(self, project_id: str) -> AsyncIterator[opb.WatchProjectEvent]:
        # No deadline: a watch lasts as long as the client listens.
        return self.stub.WatchProject(opb.WatchProjectRequest(project_id=project_id))  # type: ignore[no-any-return]

    async def call(self, method: str, request: object) -> object:
        """Call a unary RPC by name (for RPCs that not every orchestrator build has)."""
        return await getattr(self.stub, method)(request, timeout=self.timeout)


async def check_health(target: str, timeout_s: float, service: str = "") -> str:
    """grpc.health.v1 status of one service ("SERVING", "NOT_SERVING", "UNREACHABLE", ...)."""
    channel = grpc.aio.insecure_channel(target)
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        resp = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout_s)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return "UNKNOWN_SERVICE"
        return "UNREACHABLE"
    except TimeoutError:
        return "UNREACHABLE"
    finally:
        await channel.close()
