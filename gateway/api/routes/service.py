"""Service endpoints: health of the gateway and the services behind it, liveness, metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.api.deps import ConfigDep, MetricsDep, OrchestratorDep, SecurityDep, SettingsDep
from gateway.api.responses import PROJECT_ERRORS
from gateway.orchestrator_client import check_health
from services.common.errors import NotFound
from services.common.settings import Settings

router = APIRouter(tags=["service"])


def health_targets(settings: Settings, stage_services: bool) -> dict[str, str]:
    """Service name -> gRPC target, the orchestrator first."""
    targets = {"orchestrator": settings.orchestrator_target}
    if stage_services:
        targets["concept"] = settings.concept_target
        targets["seeder"] = settings.seeder_target
        animators = settings.animator_targets
        for i, target in enumerate(animators):
            targets[f"animator-{i}" if len(animators) > 1 else "animator"] = target
    return targets


def overall_health(statuses: dict[str, str]) -> tuple[str, int]:
    """(status, HTTP code): unavailable without the orchestrator, degraded without a stage."""
    if statuses["orchestrator"] != "SERVING":
        return "unavailable", 503
    if all(s == "SERVING" for s in statuses.values()):
        return "ok", 200
    return "degraded", 200  # the API answers; some renders may wait or fail


@router.get("/health", summary="Health of the gateway and the services behind it")
async def health(
    settings: SettingsDep, config: ConfigDep, orchestrator: OrchestratorDep
) -> JSONResponse:
    targets = health_targets(settings, config.health_check_stages)
    timeout = config.health_timeout_s
    names = list(targets)
    results = await asyncio.gather(
        *(
            orchestrator.health(timeout)
            if n == "orchestrator"
            else check_health(targets[n], timeout)
            for n in names
        )
    )
    statuses = dict(zip(names, results, strict=True))
    status, code = overall_health(statuses)
    services = {n: {"target": targets[n], "status": statuses[n]} for n in names}
    return JSONResponse(
        {"status": status, "service": "gateway", "services": services}, status_code=code
    )


@router.get("/livez", summary="Liveness: the gateway process answers")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        401: PROJECT_ERRORS[401],
        404: {"description": "served on its own port (`LUMIERE_GATEWAY_METRICS_PORT`)"},
    },
)
async def prometheus_metrics(
    request: Request,
    metrics: MetricsDep,
    orchestrator: OrchestratorDep,
    config: ConfigDep,
    security: SecurityDep,
) -> Response:
    if config.metrics_port:
        raise NotFound("metrics are served on their own port, not on the API's")
    if security.enabled:
        security.authenticate(request)  # with keys on, metrics are not public
    await metrics.refresh_project_counts(orchestrator, config.metrics_cache_s)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
