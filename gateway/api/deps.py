"""Typed dependencies of the routes: the gateway's parts, the caller, and a loaded project.

Routes declare what they need (`store: StoreDep`, `project: ProjectDep`) instead of reaching
into app state; FastAPI resolves each at most once per request, so the caller is authenticated
(and rate-limited) once even when several dependencies need it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request
from lumiere.v1 import orchestrator_pb2 as opb

from gateway.config import GatewaySettings
from gateway.follow import ProjectFollower
from gateway.metrics import Metrics
from gateway.orchestrator_client import OrchestratorClient
from gateway.security import Ownership, Principal, Security
from gateway.state import GatewayState
from gateway.views import ACTIVE_STATES, state_name
from services.common import contract
from services.common.errors import InvalidInput, NotFound
from services.common.settings import Settings
from services.common.storage import ArtifactStore


def get_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


StateDep = Annotated[GatewayState, Depends(get_state)]
T = TypeVar("T")


def _part(pick: Callable[[GatewayState], T]) -> Any:
    """A dependency on one part of the gateway's state (`pick` names it, typed)."""

    def dependency(state: StateDep) -> T:
        return pick(state)

    return Depends(dependency)


SettingsDep = Annotated[Settings, _part(lambda s: s.settings)]
ConfigDep = Annotated[GatewaySettings, _part(lambda s: s.config)]
StoreDep = Annotated[ArtifactStore, _part(lambda s: s.store)]
OrchestratorDep = Annotated[OrchestratorClient, _part(lambda s: s.orchestrator)]
FollowerDep = Annotated[ProjectFollower, _part(lambda s: s.follower)]
OwnershipDep = Annotated[Ownership, _part(lambda s: s.ownership)]
SecurityDep = Annotated[Security, _part(lambda s: s.security)]
MetricsDep = Annotated[Metrics, _part(lambda s: s.metrics)]


def get_principal(request: Request, security: SecurityDep) -> Principal:
    """Authenticate (when keys are configured) and rate-limit; see gateway.security.

    A request with a body was already authenticated from its headers by `gateway.guard`."""
    checked: Principal | None = getattr(request.state, "principal", None)
    return checked if checked is not None else security.authenticate(request)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def project_id_path(
    project_id: Annotated[
        str,
        # The pattern is documented in the schema but checked below: a bad id is a 400 with a
        # message (the seed's contract), not FastAPI's 422 validation error.
        Path(
            description=f"the id returned at creation ({contract.PROJECT_ID_RULE})",
            json_schema_extra={"pattern": contract.PROJECT_ID_PATTERN},
        ),
    ],
) -> str:
    if not contract.is_project_id(project_id):
        raise InvalidInput(
            f"invalid project id {project_id[:80]!r}: use the id returned when it was created"
        )
    return project_id


ProjectId = Annotated[str, Depends(project_id_path)]


async def load_project(
    state: GatewayState, project_id: str, who: Principal, live: bool = False
) -> opb.Project:
    """The project as the caller may see it; `live` allows the followed (cached) copy."""
    # Another key's project answers exactly like a missing one: ids don't leak.
    if not await state.ownership.visible(project_id, who):
        raise NotFound(f"project {project_id} not found")
    if live and (cached := state.follower.cached(project_id)) is not None:
        return cached
    project = await state.orchestrator.get(project_id)
    if live and state_name(project.state) in ACTIVE_STATES:
        # Someone is polling a running project: follow it from now on.
        state.follower.follow(state.orchestrator, project)
    return project


# The caller comes first in these signatures: authentication (401) precedes the id check (400).
async def get_project(who: CurrentPrincipal, project_id: ProjectId, state: StateDep) -> opb.Project:
    return await load_project(state, project_id, who)


async def get_live_project(
    who: CurrentPrincipal, project_id: ProjectId, state: StateDep
) -> opb.Project:
    return await load_project(state, project_id, who, live=True)


ProjectDep = Annotated[opb.Project, Depends(get_project)]
LiveProjectDep = Annotated[opb.Project, Depends(get_live_project)]
