"""What every endpoint that starts a run answers: the project as it is now, followed live from
here on (so its stage timings are measured from this moment)."""

from __future__ import annotations

from typing import Any

from lumiere.v1 import orchestrator_pb2 as opb

from gateway.follow import ProjectFollower, ProjectSource
from gateway.views import project_json


def run_started(
    follower: ProjectFollower, orchestrator: ProjectSource, started: opb.Project
) -> dict[str, Any]:
    follower.follow(orchestrator, started, just_started=True)
    return project_json(started)
