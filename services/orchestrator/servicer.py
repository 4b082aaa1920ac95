"""OrchestratorService: a thin adapter from gRPC to `Operations`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from lumiere.v1 import orchestrator_pb2, orchestrator_pb2_grpc

from services.common.contract import check_project_id
from services.orchestrator.engine import Engine
from services.orchestrator.operations import Operations


class OrchestratorServicer(orchestrator_pb2_grpc.OrchestratorServiceServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ops = Operations(engine)

    async def CreateProject(
        self, request: orchestrator_pb2.CreateProjectRequest, context: grpc.aio.ServicerContext
    ) -> orchestrator_pb2.CreateProjectResponse:
        return orchestrator_pb2.CreateProjectResponse(project=await self.ops.create(request))

    async def GetProject(
        self, request: orchestrator_pb2.GetProjectRequest, context: grpc.aio.ServicerContext
    ) -> orchestrator_pb2.GetProjectResponse:
        return orchestrator_pb2.GetProjectResponse(
            project=await self.ops.project(request.project_id)
        )

    async def ListProjects(
        self, request: orchestrator_pb2.ListProjectsRequest, context: grpc.aio.ServicerContext
    ) -> orchestrator_pb2.ListProjectsResponse:
        projects, token = await self.ops.list(request.page_size, request.page_token)
        return orchestrator_pb2.ListProjectsResponse(projects=projects, next_page_token=token)

    async def ProcessProject(
        self, request: orchestrator_pb2.ProcessProjectRequest, context: grpc.aio.ServicerContext
    ) -> orchestrator_pb2.ProcessProjectResponse:
        return orchestrator_pb2.ProcessProjectResponse(
            project=await self.ops.process(request.project_id)
        )

    async def WatchProject(
        self, request: orchestrator_pb2.WatchProjectRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[orchestrator_pb2.WatchProjectEvent]:
        if request.project_id:
            check_project_id(request.project_id)
        async for event in self.engine.watch(request.project_id):
            yield event

    async def CancelProject(
        self, request: orchestrator_pb2.CancelProjectRequest, context: grpc.aio.ServicerContext
    ) -> orchestrator_pb2.CancelProjectResponse:
        return orchestrator_pb2.CancelProjectResponse(
            project=await self.ops.cancel(request.project_id)
        )

    async def DeleteProject(
        self, request: orchestrator_pb2.DeleteProjectRequest, context: grpc.aio.ServicerContext
    ) -> orchestrator_pb2.DeleteProjectResponse:
        removed = await self.ops.delete(request.project_id)
        return orchestrator_pb2.DeleteProjectResponse(
            project_id=request.project_id, deleted_artifacts=removed
        )

    async def RegenerateSegment(
        self, request: orchestrator_pb2.RegenerateSegmentRequest, context: grpc.aio.ServicerContext
    ) -> orchestrator_pb2.RegenerateSegmentResponse:
        return orchestrator_pb2.RegenerateSegmentResponse(
            project=await self.ops.regenerate(request)
        )

    async def PreviewProject(
        self, request: orchestrator_pb2.PreviewProjectRequest, context: grpc.aio.ServicerContext
    ) -> orchestrator_pb2.PreviewProjectResponse:
        return orchestrator_pb2.PreviewProjectResponse(
            project=await self.ops.preview(request.project_id)
        )

    async def UpdateStoryboard(
        self, request: orchestrator_pb2.UpdateStoryboardRequest, context: grpc.aio.ServicerContext
    ) -> orchestrator_pb2.UpdateStoryboardResponse:
        return orchestrator_pb2.UpdateStoryboardResponse(
            project=await self.ops.update_storyboard(request)
        )
