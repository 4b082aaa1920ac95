"""What one gateway app holds: settings, the store, security, metrics, the follower and the
orchestrator client. Built once by `create_app`, kept on `app.state.gateway`, handed to the
routes by `gateway.api.deps`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.config import GatewaySettings
from gateway.follow import ProjectFollower
from gateway.forms import UploadLimits
from gateway.metrics import Metrics
from gateway.orchestrator_client import OrchestratorClient
from gateway.security import Ownership, Security
from services.common.settings import Settings
from services.common.storage import ArtifactStore


@dataclass
class GatewayState:
    settings: Settings
    config: GatewaySettings
    store: ArtifactStore
    security: Security
    ownership: Ownership
    metrics: Metrics
    follower: ProjectFollower
    limits: UploadLimits
    _orchestrator: OrchestratorClient | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls, settings: Settings, config: GatewaySettings, store: ArtifactStore
    ) -> GatewayState:
        security = Security(
            config.api_key_list,
            config.rate_limit_per_minute,
            config.rate_limit_burst,
            config.auth_failures_per_minute,
            config.auth_failure_burst,
        )
        metrics = Metrics()
        return cls(
            settings=settings,
            config=config,
            store=store,
            security=security,
            ownership=Ownership(store, security.enabled),
            metrics=metrics,
            follower=ProjectFollower(metrics),
            limits=UploadLimits.from_settings(settings, config),
        )

    @property
    def orchestrator(self) -> OrchestratorClient:
        # Made on first use, on the serving event loop (an aio channel belongs to its loop);
        # the lifespan makes it at start-up and closes it at shutdown.
        if self._orchestrator is None:
            self._orchestrator = OrchestratorClient(
                self.settings.orchestrator_target, self.config.rpc_timeout_s
            )
        return self._orchestrator

    async def close(self) -> None:
        await self.follower.close()
        if self._orchestrator is not None:
            await self._orchestrator.close()
            self._orchestrator = None
