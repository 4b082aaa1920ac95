"""Follow one run of a project to its end over the event stream, timing each stage.

Stage names, labels, progress spans and the state sets come from `GET /api/v1/pipeline`; shot
states from `GET .../timeline`. Nothing here restates them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.cli.api import ApiError, LumiereAPI

# The shots' states are read at most this often (one GET each time).
SHOT_REFRESH_S = 1.0


@dataclass
class Pipeline:
    """The server's pipeline table, with what a follower asks of it."""

    stages: list[dict[str, Any]]
    states: list[str]
    active: set[str]
    terminal: set[str]

    @classmethod
    def of(cls, table: dict[str, Any]) -> Pipeline:
        return cls(
            list(table["stages"]),
            list(table["states"]),
            set(table["active_states"]),
            set(table["terminal_states"]),
        )

    @property
    def final_state(self) -> str:
        return str(self.stages[-1]["reaches"])

    def stages_done(self, status: str) -> int:
        """How many stages are finished once a project is in `status`."""
        for i, spec in enumerate(self.stages):
            if spec["reaches"] == status:
                return i + 1
        return 0

    def ended_by(self, status: str) -> dict[str, Any] | None:
        """The stage that has just finished when `status` is reached."""
        done = self.stages_done(status)
        return self.stages[done - 1] if done else None


def stage_title(spec: dict[str, Any]) -> str:
    return f"{spec['name']} ({str(spec['label']).lower()})"


@dataclass
class RunView:
    """What a display shows of a run at one moment."""

    status: str
    elapsed: float
    fraction: float  # of the whole run, 0..1
    running: int  # index of the running stage (== number of stages finished)
    stage_fraction: float  # of the running stage, 0..1
    stage: str
    message: str
    shots: list[str] = field(default_factory=list)  # one state (the API's names) per shot
    event: str = ""  # "state" when the status just changed


def run_view(
    pipe: Pipeline, status: str, progress: dict[str, Any], elapsed: float, shots: list[str]
) -> RunView:
    done = len(pipe.stages) if status == pipe.final_state else pipe.stages_done(status)
    fraction = pipe.stages[done - 1]["span"][1] if done else 0.0
    within = 0.0
    if status in pipe.active and done < len(pipe.stages):
        lo, hi = pipe.stages[done]["span"]
        fraction = max(fraction, min(float(progress.get("fraction") or 0.0), hi))
        within = (fraction - lo) / (hi - lo) if hi > lo else 0.0
    return RunView(
        status=status,
        elapsed=elapsed,
        fraction=fraction,
        running=done,
        stage_fraction=max(0.0, min(1.0, within)),
        # The running stage (progress may still name the one that just ended).
        stage=str(
            pipe.stages[done]["name"] if done < len(pipe.stages) else progress.get("stage") or ""
        ),
        message=str(progress.get("message") or ""),
        shots=shots,
    )


class StageClock:
    """Wall time per stage, from the moments each state is first seen."""

    def __init__(self, pipe: Pipeline, now: float | None = None) -> None:
        self.pipe = pipe
        self.started = self.last_change = time.monotonic() if now is None else now
        self.status = ""
        self.times: dict[str, float] = {}

    def see(self, status: str, now: float) -> bool:
        """Record `status`; True when it is a change."""
        if status == self.status:
            return False
        spec = self.pipe.ended_by(status)
        if spec is not None:
            self.times[stage_title(spec)] = now - self.last_change
            self.last_change = now
        elif status in self.pipe.active:
            self.last_change = now
        self.status = status
        return True


def follow(
    api: LumiereAPI,
    pid: str,
    on_update: Callable[[RunView], None] | None = None,
    pipe: Pipeline | None = None,
    timeout_s: float | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """Follow `pid` until it reaches a terminal state (or `timeout_s` passes); returns the
    project and the seconds per stage (+ "total").

    A dropped event stream is reopened (the first event of each is a fresh snapshot)."""
    pipe = pipe or Pipeline.of(api.pipeline())
    clock = StageClock(pipe)
    shots: list[str] = []
    shots_read = 0.0
    status = ""
    deadline = None if timeout_s is None else clock.started + timeout_s
    while True:
        for kind, data in api.events(pid):
            if kind == "end" or (deadline is not None and time.monotonic() > deadline):
                break
            if kind == "error":
                raise ApiError(502, str(data.get("detail") or "the event stream broke"))
            if kind not in ("project", "state", "progress"):
                continue
            now = time.monotonic()
            status = str(data["status"])
            changed = clock.see(status, now)
            if changed or now - shots_read >= SHOT_REFRESH_S:
                shots_read = now
                with contextlib.suppress(ApiError):  # the next event reads them again
                    shots = [str(s["state"]) for s in api.timeline(pid)["shots"]]
            if on_update is not None:
                view = run_view(
                    pipe, status, data.get("progress") or {}, now - clock.started, shots
                )
                view.event = "state" if changed else kind
                on_update(view)
        project = api.get(pid)
        if project["status"] in pipe.terminal or (
            deadline is not None and time.monotonic() > deadline
        ):
            break
    now = time.monotonic()
    clock.see(str(project["status"]), now)
    clock.times["total"] = now - clock.started
    if on_update is not None:
        final = [str(s["state"]) for s in api.timeline(pid)["shots"]]
        view = run_view(
            pipe, project["status"], project.get("progress") or {}, now - clock.started, final
        )
        view.event = "end"
        on_update(view)
    return project, clock.times
