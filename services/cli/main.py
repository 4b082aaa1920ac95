"""`lumiere`: render a song into a music video, and manage projects, from the command line.

A client of the REST API only (`--url`/`LUMIERE_URL`, `--api-key`/`LUMIERE_API_KEY`); without a
URL it uses the local gateway, and `render`/`preview` start a local stack when none is running.
Exit codes: 0 done, 1 failed (the reason is printed), 2 bad input, 130 cancelled by Ctrl-C.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from services.cli.api import ApiError, LumiereAPI
from services.cli.display import LineDisplay, RichDisplay
from services.cli.follow import Pipeline, follow
from services.cli.stack import NoGateway, connect, local_url

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130

app = typer.Typer(
    name="lumiere",
    help="Turn a song and a prompt into a music video whose motion follows the music.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass
class Options:
    url: str | None
    api_key: str | None
    json: bool

    @property
    def out(self) -> Console:
        return Console(highlight=False, soft_wrap=True)

    @property
    def log(self) -> Console:
        """Progress and notes: on stderr with --json, so stdout is only the JSON."""
        return Console(stderr=self.json, highlight=False, soft_wrap=True)


@app.callback()
def main(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(envvar="LUMIERE_URL", help="the gateway (default: the local one)"),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="LUMIERE_API_KEY", help="API key, if the server needs one")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    ctx.obj = Options(url, api_key, as_json)


def fail(log: Console, message: str, code: int = EXIT_FAILED) -> typer.Exit:
    log.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def api_failure(log: Console, exc: ApiError) -> typer.Exit:
    return fail(log, exc.detail, EXIT_BAD_INPUT if exc.bad_input else EXIT_FAILED)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


SongArg = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="the song")
]
PromptOpt = Annotated[str, typer.Option("--prompt", "-p", help="what the video shows")]
OutOpt = Annotated[Path | None, typer.Option("--output", "-o", help="where the MP4 goes")]
CharactersOpt = Annotated[
    list[Path] | None,
    typer.Option("--characters", "-c", exists=True, dir_okay=False, help="character image"),
]
LyricsOpt = Annotated[
    Path | None, typer.Option(exists=True, dir_okay=False, help="lyrics (LRC, SRT or text)")
]
SizeOpt = Annotated[str | None, typer.Option(help="WxH, e.g. 1280x720")]
AspectOpt = Annotated[str | None, typer.Option(help="W:H, e.g. 9:16")]
FpsOpt = Annotated[int | None, typer.Option(help="frames per second")]
QualityOpt = Annotated[str | None, typer.Option(help="preview, draft or final")]
SeedOpt = Annotated[int | None, typer.Option(help="seed, for a repeatable video")]
StyleOpt = Annotated[str | None, typer.Option(help="a look, e.g. 'watercolour, film grain'")]


def form_of(**fields: object) -> dict[str, str]:
    return {k: str(v) for k, v in fields.items() if v is not None and v != ""}


def _display(opts: Options, pipe: Pipeline, shot_states: list[str]) -> LineDisplay | RichDisplay:
    log = opts.log
    if log.is_terminal:
        return RichDisplay(log, pipe, shot_states)
    return LineDisplay(log.file, pipe, shot_states)


def storyboard_summary(log: Console, timeline: dict[str, Any]) -> None:
    shots = timeline["shots"]
    if not shots:
        return
    sections = timeline["sections"]
    log.print(
        f"storyboard: {len(shots)} shots over {len(sections)} sections, "
        f"{timeline['tempo_bpm']:.1f} BPM, {timeline['duration']:.1f} s"
    )
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("#", "time", "section", "framing", "move", "prompt"):
        table.add_column(column, overflow="ellipsis", no_wrap=True)
    for s in shots:
        section = (s.get("section") or {}).get("role", "")
        table.add_row(
            str(s["index"] + 1),
            f"{s['start_time']:6.2f}-{s['end_time']:6.2f}",
            section,
            s["framing"],
            s["move"],
            s["prompt"][:60],
        )
    log.print(table)


def run_and_report(
    opts: Options,
    api: LumiereAPI,
    pid: str,
    output: Path | None,
    preview: bool = False,
) -> None:
    """Follow a started run with live progress, then report; exits non-zero unless it
    completed. Ctrl-C cancels the project."""
    log = opts.log
    pipe = Pipeline.of(api.pipeline())
    shot_states = list(api.timeline(pid)["shot_states"])
    try:
        with _display(opts, pipe, shot_states) as display:
            project, times = follow(api, pid, display.update, pipe)
    except KeyboardInterrupt:
        log.print(f"interrupted: cancelling project {pid}")
        try:
            project = api.cancel(pid)
            project, _ = follow(api, pid, None, pipe)
        except (ApiError, KeyboardInterrupt) as exc:
            log.print(f"could not confirm the cancel: {exc}")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        log.print(f"project {pid} is {project['status']}")
        if opts.json:
            emit_json({"project": project})
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if project["status"] != pipe.final_state:
        reason = f"{project.get('failed_stage') or 'a stage'} failed: {project.get('error')}"
        if opts.json:
            emit_json({"project": project, "stage_seconds": times})
        raise fail(log, f"project {pid} is {project['status']}: {reason}")
    timeline = api.timeline(pid)
    log.print()
    storyboard_summary(log, timeline)
    log.print("time per stage:")
    for stage, secs in times.items():
        log.print(f"  {stage:32s} {secs:7.1f} s")
    dest = output or Path(f"lumiere-{pid}{'-preview' if preview else ''}.mp4")
    api.download(pid, dest, preview=preview)
    log.print(f"{'preview' if preview else 'video'}: {dest.resolve()}")
    if opts.json:
        emit_json({"project": project, "stage_seconds": times, "output": str(dest.resolve())})


def create_and_run(
    ctx: typer.Context,
    song: Path,
    prompt: str,
    output: Path | None,
    characters: list[Path] | None,
    lyrics: Path | None,
    form: dict[str, str],
    preview: bool,
) -> None:
    opts: Options = ctx.obj
    log = opts.log
    try:
        with connect(opts.url, opts.api_key, log, start_stack=True) as api:
            images = [(p.name, p.read_bytes()) for p in characters or []]
            project = api.create(song, prompt, form, images, lyrics)
            pid = project["id"]
            log.print(f"project {pid}: {project['audio'].get('duration_seconds', 0):.1f} s song")
            (api.preview if preview else api.process)(pid)
            run_and_report(opts, api, pid, output, preview)
    except ApiError as exc:
        raise api_failure(log, exc) from None
    except NoGateway as exc:
        raise fail(log, str(exc)) from None


@app.command()
def render(
    ctx: typer.Context,
    song: SongArg,
    prompt: PromptOpt,
    output: OutOpt = None,
    characters: CharactersOpt = None,
    lyrics: LyricsOpt = None,
    size: SizeOpt = None,
    aspect: AspectOpt = None,
    fps: FpsOpt = None,
    quality: QualityOpt = None,
    seed: SeedOpt = None,
    style: StyleOpt = None,
) -> None:
    """Render SONG into a music video, with live progress; download it to --output."""
    form = form_of(size=size, aspect=aspect, fps=fps, quality=quality, seed=seed, style=style)
    create_and_run(ctx, song, prompt, output, characters, lyrics, form, preview=False)


@app.command()
def preview(
    ctx: typer.Context,
    song: SongArg,
    prompt: PromptOpt,
    output: OutOpt = None,
    characters: CharactersOpt = None,
    lyrics: LyricsOpt = None,
    size: SizeOpt = None,
    aspect: AspectOpt = None,
    fps: FpsOpt = None,
    seed: SeedOpt = None,
    style: StyleOpt = None,
) -> None:
    """A quick low-resolution animatic of SONG (the storyboard, cut to the music)."""
    form = form_of(size=size, aspect=aspect, fps=fps, seed=seed, style=style)
    create_and_run(ctx, song, prompt, output, characters, lyrics, form, preview=True)


@app.command()
def serve(animators: Annotated[int, typer.Option(help="animator replicas")] = 2) -> None:
    """Run the whole local stack in the foreground (Ctrl-C stops it)."""
    from services.devstack.__main__ import serve as serve_stack

    serve_stack(animators)


def _with_api(ctx: typer.Context) -> tuple[Options, Any]:
    opts: Options = ctx.obj
    return opts, connect(opts.url, opts.api_key, opts.log)


@app.command("ls")
def list_projects(
    ctx: typer.Context, limit: Annotated[int, typer.Option(min=1, max=500)] = 50
) -> None:
    """List projects, newest first."""
    opts, connection = _with_api(ctx)
    try:
        with connection as api:
            projects = api.list(limit)
    except ApiError as exc:
        raise api_failure(opts.log, exc) from None
    except NoGateway as exc:
        raise fail(opts.log, str(exc)) from None
    if opts.json:
        emit_json(projects)
        return
    table = Table(box=None)
    for column in ("id", "status", "shots", "created", "prompt"):
        table.add_column(column, no_wrap=column != "prompt", overflow="ellipsis")
    for p in projects:
        table.add_row(
            p["id"], p["status"], str(p["shot_count"]), p["created_at"] or "", p["prompt"][:60]
        )
    opts.out.print(table)


def _one(ctx: typer.Context, call: str, *args: Any, **kw: Any) -> tuple[Options, Any]:
    opts, connection = _with_api(ctx)
    try:
        with connection as api:
            return opts, getattr(api, call)(*args, **kw)
    except ApiError as exc:
        raise api_failure(opts.log, exc) from None
    except NoGateway as exc:
        raise fail(opts.log, str(exc)) from None


@app.command()
def show(ctx: typer.Context, project_id: str) -> None:
    """A project's status, progress, music facts and storyboard."""
    opts, project = _one(ctx, "get", project_id)
    _, timeline = _one(ctx, "timeline", project_id)
    if opts.json:
        emit_json({"project": project, "timeline": timeline})
        return
    out = opts.out
    progress = project.get("progress") or {}
    out.print(f"project {project['id']}  [bold]{project['status']}[/bold]")
    out.print(f"prompt: {project['prompt']}")
    if progress.get("stage"):
        out.print(
            f"progress: {progress['stage']} {100 * progress['fraction']:.0f}% {progress['message']}"
        )
    if project.get("error"):
        out.print(f"[red]error:[/red] {project.get('failed_stage')}: {project['error']}")
    storyboard_summary(out, timeline)
    base = (opts.url or local_url()).rstrip("/")
    for kind in ("video_url", "preview_url"):
        if project.get(kind):
            out.print(f"{kind.split('_')[0]}: {base}{project[kind]}")
    out.print(f"timeline: {base}/projects/{project['id']}")


@app.command()
def download(
    ctx: typer.Context,
    project_id: str,
    output: OutOpt = None,
    preview: Annotated[bool, typer.Option(help="the preview instead of the video")] = False,
) -> None:
    """Download a project's MP4 (or its preview)."""
    dest = output or Path(f"lumiere-{project_id}{'-preview' if preview else ''}.mp4")
    opts, path = _one(ctx, "download", project_id, dest, preview=preview)
    if opts.json:
        emit_json({"output": str(path.resolve())})
    else:
        opts.out.print(str(path.resolve()))


@app.command()
def cancel(ctx: typer.Context, project_id: str) -> None:
    """Stop a running project."""
    opts, project = _one(ctx, "cancel", project_id)
    if opts.json:
        emit_json(project)
    else:
        opts.out.print(f"project {project_id} is {project['status']}")


@app.command()
def regenerate(
    ctx: typer.Context,
    project_id: str,
    shot: Annotated[str, typer.Argument(help="shot number (from 1, as `show` lists) or id")],
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="re-draw with this")] = "",
    seed: SeedOpt = None,
    output: OutOpt = None,
    wait: Annotated[bool, typer.Option(help="follow it to the end and download")] = True,
) -> None:
    """Re-draw one shot (new prompt or seed), re-render it and re-compose the video."""
    target: int | str = int(shot) - 1 if shot.isdigit() else shot
    if isinstance(target, int) and target < 0:
        raise fail(ctx.obj.log, "shots are numbered from 1", EXIT_BAD_INPUT)
    opts: Options = ctx.obj
    try:
        with connect(opts.url, opts.api_key, opts.log) as api:
            api.regenerate(project_id, target, prompt=prompt, seed=seed)
            if wait:
                run_and_report(opts, api, project_id, output)
            elif opts.json:
                emit_json(api.get(project_id))
    except ApiError as exc:
        raise api_failure(opts.log, exc) from None
    except NoGateway as exc:
        raise fail(opts.log, str(exc)) from None


def run() -> None:
    app()
