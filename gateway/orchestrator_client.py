"""The gateway's typed client of OrchestratorService: one aio channel, a deadline on every call.

One method per RPC the gateway uses, each taking plain arguments and returning the message the
caller needs (usually the `Project`), so the routes never build requests or unwrap responses.
Errors stay `grpc.aio.AioRpcError`; `gateway.errors` maps their codes to HTTP statuses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from lumiere.v1 import orchestrator_pb2 as opb
from lumiere.v1 import orchestrator_pb2_grpc as opb_grpc
from lumiere.v1 import storyboard_pb2

from services.common.grpc_client import aio_channel


class OrchestratorClient:
    def __init__(self, target: str, timeout_s: float) -> None:
        self.target = target
        self.timeout = timeout_s
        self.channel = aio_channel(target)
        self.stub = opb_grpc.OrchestratorServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

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

    async def cancel(self, project_id: str) -> opb.Project:
        resp = await self.stub.CancelProject(
            opb.CancelProjectRequest(project_id=project_id), timeout=self.timeout
        )
        return resp.project

    async def delete(self, project_id: str) -> opb.DeleteProjectResponse:
        return await self.stub.DeleteProject(
            opb.DeleteProjectRequest(project_id=project_id), timeout=self.timeout
        )

    async def regenerate(
        self,
        project_id: str,
        segment_index: int,
        prompt: str = "",
        seed: int | None = None,
        shot_id: str = "",
    ) -> opb.Project:
        """Re-render a segment, or with `shot_id` one storyboard shot (keyframe + segment)."""
        request = opb.RegenerateSegmentRequest(
            project_id=project_id, segment_index=segment_index, prompt=prompt, shot_id=shot_id
        )
        if seed is not None:  # unset = keep the segment's seed
            request.seed = seed
        resp = await self.stub.RegenerateSegment(request, timeout=self.timeout)
        return resp.project

    async def update_storyboard(
        self, project_id: str, storyboard: storyboard_pb2.Storyboard
    ) -> opb.Project:
        resp = await self.stub.UpdateStoryboard(
            opb.UpdateStoryboardRequest(project_id=project_id, storyboard=storyboard),
            timeout=self.timeout,
        )
        return resp.project

    async def preview(self, project_id: str) -> opb.Project:
        resp = await self.stub.PreviewProject(
            opb.PreviewProjectRequest(project_id=project_id), timeout=self.timeout
        )
        return resp.project

    def watch(self, project_id: str) -> AsyncIterator[opb.WatchProjectEvent]:
        # No deadline: a watch lasts as long as the client listens.
        call = self.stub.WatchProject(opb.WatchProjectRequest(project_id=project_id))
        stream: AsyncIterator[opb.WatchProjectEvent] = call
        return stream

    async def health(self, timeout_s: float) -> str:
        """grpc.health.v1 status of the orchestrator.

        On a fresh channel: the shared one may still be backing off from an earlier outage,
        and /health should say whether the orchestrator answers now.
        """
        return await check_health(self.target, timeout_s)


async def check_health(target: str, timeout_s: float) -> str:
    """grpc.health.v1 status of any service ("SERVING", "NOT_SERVING", "UNREACHABLE", ...)."""
    channel = grpc.aio.insecure_channel(target)
    try:
        return await _health_status(channel, timeout_s)
    finally:
        await channel.close()


async def _health_status(channel: grpc.aio.Channel, timeout_s: float) -> str:
    stub = health_pb2_grpc.HealthStub(channel)
    try:
        resp = await stub.Check(health_pb2.HealthCheckRequest(), timeout=timeout_s)
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return "UNKNOWN_SERVICE"
        return "UNREACHABLE"
    except TimeoutError:
        return "UNREACHABLE"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status))
