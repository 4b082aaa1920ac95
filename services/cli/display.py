"""How a run looks on the terminal: Rich progress bars (per stage, per shot, ETA) on a TTY, one
plain line per update otherwise (logs, CI, pipes)."""

from __future__ import annotations

from typing import IO, Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from services.cli.follow import Pipeline, RunView

# Shot state -> (glyph, style) on the strip; an unknown state shows as "?".
SHOT_STYLE = ["dim", "yellow", "green", "red"]
SHOT_GLYPH = ["·", "▶", "■", "✗"]


def shot_counts(shots: list[str], vocabulary: list[str]) -> dict[str, int]:
    return {name: sum(1 for s in shots if s == name) for name in vocabulary}


class LineDisplay:
    """One line per change of state or progress, with the time since the run started."""

    def __init__(self, out: IO[str], pipe: Pipeline, shot_states: list[str]) -> None:
        self.out = out
        self.pipe = pipe
        self.shot_states = shot_states
        self.last = ""
        self.status = ""

    def __enter__(self) -> LineDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def update(self, view: RunView) -> None:
        stamp = f"[{view.elapsed:6.1f}s]"
        if view.event in ("state", "end") and view.status != self.status:
            self.status = view.status
            print(f"{stamp} state: {view.status}  ({100 * view.fraction:5.1f}%)", file=self.out)
        counts = shot_counts(view.shots, self.shot_states)
        shots = " ".join(f"{n} {name}" for name, n in counts.items() if n)
        line = f"{view.stage}: {100 * view.stage_fraction:5.1f}% {view.message}".rstrip()
        if shots:
            line += f" | shots: {shots}"
        if view.stage and line != self.last and view.status in self.pipe.active:
            print(f"{stamp}   {line}", file=self.out)
            self.last = line
        self.out.flush()


class RichDisplay:
    """A bar per stage and one for the shots, an ETA for the whole run, and a strip with one
    glyph per shot coloured by its state."""

    def __init__(self, console: Console, pipe: Pipeline, shot_states: list[str]) -> None:
        self.console = console
        self.pipe = pipe
        self.shot_states = shot_states
        self.progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(bar_width=None),
            TextColumn("{task.percentage:>5.1f}%"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            expand=True,
        )
        self.shots_bar = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(bar_width=None),
            MofNCompleteColumn(),
            console=console,
            expand=True,
        )
        self.total = self.progress.add_task("[bold]whole video", total=1.0)
        # A stage's clock starts when it does and stops when it ends (its own elapsed and ETA).
        self.stage_tasks: list[TaskID] = [
            self.progress.add_task(str(spec["label"]), total=1.0, start=False)
            for spec in pipe.stages
        ]
        self.shots_task = self.shots_bar.add_task("shots rendered", total=None)
        self.strip = Text()
        legend = Text("  ")
        for i, name in enumerate(shot_states[: len(SHOT_GLYPH)]):
            legend.append(f"{SHOT_GLYPH[i]} {name}  ", SHOT_STYLE[i])
        self.message = Text(style="dim")
        self.live = Live(
            Group(self.progress, self.shots_bar, legend, self.strip, self.message),
            console=console,
            refresh_per_second=8,
            transient=False,
        )

    def __enter__(self) -> RichDisplay:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.__exit__(*exc)

    def update(self, view: RunView) -> None:
        self.progress.update(self.total, completed=view.fraction)
        for i, task in enumerate(self.stage_tasks):
            row = next(t for t in self.progress.tasks if t.id == task)
            if i <= view.running and row.start_time is None:
                self.progress.start_task(task)
            done = 1.0 if i < view.running else (view.stage_fraction if i == view.running else 0)
            self.progress.update(task, completed=done)
            if i < view.running and row.stop_time is None:
                self.progress.stop_task(task)
        if view.shots:
            done_state = self.shot_states[2] if len(self.shot_states) > 2 else ""
            finished = sum(1 for s in view.shots if s == done_state)
            self.shots_bar.update(self.shots_task, total=len(view.shots), completed=finished)
            strip = Text("  ")
            for state in view.shots:
                k = self.shot_states.index(state) if state in self.shot_states else -1
                strip.append(
                    SHOT_GLYPH[k] if 0 <= k < len(SHOT_GLYPH) else "?",
                    SHOT_STYLE[k] if 0 <= k < len(SHOT_STYLE) else "",
                )
            self.strip.plain = ""
            self.strip.append_text(strip)
        self.message.plain = f"  {view.status}: {view.stage} {view.message}".rstrip()
