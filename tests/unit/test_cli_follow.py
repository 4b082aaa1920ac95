"""How the `lumiere` command reads a run: stage times and fractions from the pipeline table."""

from __future__ import annotations

from services.cli.follow import Pipeline, StageClock, run_view, stage_title
from services.common import stages

PIPE = Pipeline.of(stages.table_json())
NAMES = [stages.state_name(s) for s in stages.RUN_STATES]


def test_stage_times_are_the_gaps_between_the_states_they_reach() -> None:
    clock = StageClock(PIPE, now=0.0)
    for t, status in enumerate(NAMES):
        clock.see(status, float(t))
    assert list(clock.times) == [stage_title(s) for s in PIPE.stages]
    assert all(secs == 1.0 for secs in clock.times.values())
    assert not clock.see(NAMES[-1], 99.0)  # the same state again is no change


def test_run_view_places_the_running_stage_inside_its_span() -> None:
    first, second = PIPE.stages[0], PIPE.stages[1]
    lo, hi = second["span"]
    view = run_view(PIPE, first["reaches"], {"fraction": (lo + hi) / 2, "stage": "x"}, 3.0, [])
    assert view.running == 1 and view.stage == second["name"]
    assert abs(view.stage_fraction - 0.5) < 1e-9 and abs(view.fraction - (lo + hi) / 2) < 1e-9
    done = run_view(PIPE, PIPE.final_state, {}, 9.0, [])
    assert done.fraction == 1.0 and done.running == len(PIPE.stages)
