"""The one table of the pipeline: its stages, the state each reaches, progress spans and labels.

Everything that lists stages or states derives from `PIPELINE`: the orchestrator's run loop and
progress, the gateway's JSON views and live follow, and the web page (served at
`/api/v1/pipeline`). Adding a stage is a row here, an enum value in `common.proto` and the step
that runs it in the orchestrator.

States keep the seed's public vocabulary (`created`, `processing`, `concept_generated`, ...);
their wire form is `orchestrator.proto`'s `ProjectState`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from lumiere.v1 import common_pb2, orchestrator_pb2

PS = orchestrator_pb2.ProjectState
StageValue: TypeAlias = common_pb2.Stage.ValueType
StateValue: TypeAlias = orchestrator_pb2.ProjectState.ValueType


@dataclass(frozen=True)
class StageSpec:
    stage: StageValue
    # Wire/REST label ("concept"); also the task label and the metrics label.
    name: str
    # What a person sees while it runs.
    label: str
    # The state the project reaches when this stage finishes.
    reaches: StateValue
    # Share of the whole run's progress bar: [start, end).
    span: tuple[float, float]


PIPELINE: tuple[StageSpec, ...] = (
    StageSpec(
        common_pb2.STAGE_CONCEPT,
        "concept",
        "Analysing the music",
        PS.PROJECT_STATE_CONCEPT_GENERATED,
        (0.0, 0.1),
    ),
    StageSpec(
        common_pb2.STAGE_SEEDER,
        "seeder",
        "Drawing keyframes",
        PS.PROJECT_STATE_SEEDS_GENERATED,
        (0.1, 0.25),
    ),
    StageSpec(
        common_pb2.STAGE_ANIMATOR,
        "animator",
        "Animating segments",
        PS.PROJECT_STATE_ANIMATIONS_GENERATED,
        (0.25, 0.9),
    ),
    StageSpec(
        common_pb2.STAGE_COMPOSE,
        "compose",
        "Composing with the song",
        PS.PROJECT_STATE_COMPLETED,
        (0.9, 1.0),
    ),
)

BY_STAGE: dict[StageValue, StageSpec] = {s.stage: s for s in PIPELINE}
BY_NAME: dict[str, StageSpec] = {s.name: s for s in PIPELINE}

# The states a run passes through, in order; terminal states share the last rank.
RUN_STATES: tuple[StateValue, ...] = (
    PS.PROJECT_STATE_CREATED,
    PS.PROJECT_STATE_PROCESSING,
    *(s.reaches for s in PIPELINE),
)
TERMINAL_STATES: frozenset[StateValue] = frozenset(
    {PS.PROJECT_STATE_COMPLETED, PS.PROJECT_STATE_FAILED, PS.PROJECT_STATE_CANCELLED}
)
# A run is in flight in these states (it holds a lease and may be resumed).
ACTIVE_STATES: frozenset[StateValue] = frozenset(RUN_STATES[1:-1])
STATE_RANK: dict[StateValue, int] = {
    **{state: rank for rank, state in enumerate(RUN_STATES)},
    **{state: len(RUN_STATES) - 1 for state in TERMINAL_STATES},
}
# The stage that has just finished when a state is reached.
STAGE_ENDED_BY: dict[StateValue, StageSpec] = {s.reaches: s for s in PIPELINE}


def state_name(state: int) -> str:
    """PROJECT_STATE_CONCEPT_GENERATED -> "concept_generated" (the seed's vocabulary)."""
    if state == PS.PROJECT_STATE_UNSPECIFIED:
        return "unknown"
    try:
        return PS.Name(state).removeprefix("PROJECT_STATE_").lower()  # type: ignore[arg-type]
    except ValueError:
        return "unknown"


def state_value(name: str) -> StateValue:
    """The inverse of `state_name`; PROJECT_STATE_UNSPECIFIED for a name that is not a state."""
    try:
        return PS.Value("PROJECT_STATE_" + name.upper())
    except ValueError:
        return PS.PROJECT_STATE_UNSPECIFIED


def stage_name(stage: int) -> str:
    """STAGE_ANIMATOR -> "animator"; "" for STAGE_UNSPECIFIED."""
    spec = BY_STAGE.get(stage)  # type: ignore[call-overload]
    return spec.name if spec is not None else ""


def _enum_name(enum: object, prefix: str, value: int) -> str:
    try:
        name: str = enum.Name(value)  # type: ignore[attr-defined]
    except ValueError:
        return "unknown"
    return "" if name.endswith("_UNSPECIFIED") else name.removeprefix(prefix).lower()


def run_kind_name(kind: int) -> str:
    """RUN_KIND_PREVIEW -> "preview"; "" for unspecified."""
    return _enum_name(common_pb2.RunKind, "RUN_KIND_", kind)


def task_status_name(status: int) -> str:
    """TASK_STATUS_DONE -> "done"; "" for unspecified."""
    return _enum_name(common_pb2.TaskStatus, "TASK_STATUS_", status)


def overall_fraction(stage: StageValue, within: float) -> float:
    """A stage's own progress (0..1) as a fraction of the whole run."""
    lo, hi = BY_STAGE[stage].span
    return lo + (hi - lo) * max(0.0, min(1.0, within))


def table_json() -> dict[str, object]:
    """The table as JSON for clients (the web page reads it instead of restating it)."""
    return {
        "stages": [
            {
                "name": s.name,
                "label": s.label,
                "reaches": state_name(s.reaches),
                "span": list(s.span),
            }
            for s in PIPELINE
        ],
        "states": [state_name(s) for s in RUN_STATES],
        "active_states": [state_name(s) for s in RUN_STATES if s in ACTIVE_STATES],
        "terminal_states": sorted(state_name(s) for s in TERMINAL_STATES),
    }
