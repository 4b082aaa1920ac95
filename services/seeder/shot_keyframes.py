"""One keyframe per storyboard shot: plan, draw (worker processes or backend threads), store.

With `request.concept.storyboard.shots` the seeder draws each shot (or the `shot_ids` asked for)
as the director planned it: the storyboard's scene family, the shot's framing, viewpoint, look,
subject, seed and prompt (services/seeder/shots.py render_shot). Each keyframe opens its shot
(Keyframe.time = Shot.start_time, shot_id, key_moment_id) and carries its layers by name,
the subject also in other poses ("character_pose1"..) for the animator to switch on beats.

HTTP backends get one request per shot with the shot's prompt (framing and viewpoint words are
in it); character cut-outs are composited where the shot shows the subject, placed as the
procedural framing places them (img2img backends start from that procedural picture instead).

Keys hash only what shapes the picture, so a moved cut (new start time) reuses the stored
picture and a changed prompt redraws only that shot.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import (
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
)
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np
from google.protobuf import json_format
from lumiere.v1 import common_pb2, seeder_pb2, storyboard_pb2

from services.common.contract import (
    check_project_id,
    contact_sheet_key,
    is_shot_id,
    shot_keyframe_key,
)
from services.common.errors import InvalidInput, LumiereError
from services.common.images import decode_image, encode_png
from services.common.storage import ArtifactStore
from services.seeder.backends.base import ImageBackend, ImageRequest
from services.seeder.characters import Character
from services.seeder.config import SeederSettings
from services.seeder.images import contact_sheet
from services.seeder.inputs import StoredImageKeys, derive_seed, input_hash, resolve_size
from services.seeder.shots import FRAMING_NAMES, ShotRender, render_shot

Report = Callable[[int, int, str], None]

# Bump when shot drawing changes, so stored shot keyframes of an older drawing are not reused.
SHOT_ENGINE = "shots-3"


@dataclass(frozen=True)
class Drawing:
    """Everything render_shot needs for one shot (picklable: crosses to worker processes)."""

    video_prompt: str
    shot: bytes  # storyboard_pb2.Shot, serialized
    width: int
    height: int
    family: str
    subject_kind: str
    video_seed: int
    mood: tuple[float, float, float, str]  # energy, brightness, valence, words
    characters: tuple[Character, ...] = ()
    pose_variants: int = 0
    export_layers: bool = True
    png_level: int = 1


@dataclass
class Drawn:
    image: bytes  # PNG
    layers: list[bytes]  # PNGs, in layer_names order
    layer_names: list[str]
    palette: list[str]
    info: dict[str, str] = field(default_factory=dict)


def _render(
    task: Drawing, export_layers: bool | None = None, pose_variants: int | None = None
) -> ShotRender:
    energy, brightness, valence, words = task.mood
    return render_shot(
        task.video_prompt,
        storyboard_pb2.Shot.FromString(task.shot),
        task.width,
        task.height,
        subject_kind=task.subject_kind,
        characters=list(task.characters) or None,
        video_seed=task.video_seed,
        mood_energy=energy,
        mood_brightness=brightness,
        mood_valence=valence,
        mood_words=words,
        export_layers=task.export_layers if export_layers is None else export_layers,
        pose_variants=task.pose_variants if pose_variants is None else pose_variants,
        family=task.family,
    )


def draw(task: Drawing) -> Drawn:
    """Draw one shot and encode its PNGs (pure; runs in a worker process)."""
    out = _render(task)
    names = list(out.layer_names) + [f"character_pose{k}" for k in range(1, len(out.poses) + 1)]
    pictures = [*out.layers, *out.poses] if task.export_layers else []
    return Drawn(
        image=encode_png(out.image, task.png_level),
        layers=[encode_png(p, task.png_level) for p in pictures],
        layer_names=names if task.export_layers else [],
        palette=out.palette.as_hex(),
        info={
            "family": out.family,
            "viewpoint": out.viewpoint,
            "look": out.look,
            "subject": out.subject,
        },
    )


# -- worker processes -------------------------------------------------------------------------

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _process_pool(workers: int) -> ProcessPoolExecutor:
    """One pool per seeder process, kept warm across calls (starting workers costs ~1 s).

    forkserver: workers fork from a clean server process, never from the gRPC server's
    threads, with the drawing modules imported once."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size != workers:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["services.seeder.shot_keyframes"])
            _pool, _pool_size = ProcessPoolExecutor(workers, mp_context=ctx), workers
        return _pool


def _drop_pool() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


# -- planning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShotJob(StoredImageKeys):
    shot: storyboard_pb2.Shot
    prompt: str  # what a text-to-image backend is asked for
    seed: int
    drawing: Drawing
    input_hash: str
    key: str  # storage key of the flattened PNG


def shot_jobs(
    request: seeder_pb2.GenerateKeyframesRequest,
    cfg: SeederSettings,
    backend: ImageBackend,
    characters: list[Character],
) -> list[ShotJob]:
    """Every storyboard shot's job, in timeline order (all of them: the contact sheet shows
    the whole storyboard; `selected` says which to draw)."""
    project = check_project_id(request.project_id)
    concept = request.concept
    board = concept.storyboard
    shots = sorted(board.shots, key=lambda s: (s.start_time, s.index))
    ids = [s.id for s in shots]
    bad = [i for i in ids if not is_shot_id(i)]
    if bad:
        raise InvalidInput(f"storyboard shot ids must be path-safe (A-Z a-z 0-9 _ -): {bad[:5]}")
    if len(set(ids)) != len(ids):
        raise InvalidInput("storyboard has duplicate shot ids")
    width, height = resolve_size(request)
    mood = concept.mood
    has_mood = concept.HasField("mood")
    mood_t = (
        float(mood.energy) if has_mood else 0.5,
        float(mood.brightness) if has_mood else 0.5,
        float(mood.valence) if has_mood else 0.5,
        " ".join(mood.descriptors) if has_mood else "",
    )
    style = request.style.strip()
    video_prompt = ", ".join(p for p in (concept.prompt.strip(), style) if p)
    procedural = backend.name == "procedural"
    jobs = []
    for shot in shots:
        prompt = ", ".join(p for p in (shot.prompt.strip() or concept.prompt.strip(), style) if p)
        seed = derive_seed(request.seed, int(shot.seed))
        drawn_shot = storyboard_pb2.Shot()
        drawn_shot.CopyFrom(shot)
        drawn_shot.seed = seed
        drawn_shot.prompt = prompt
        subject = bool(shot.subject)
        drawing = Drawing(
            video_prompt=video_prompt or prompt,
            shot=drawn_shot.SerializeToString(deterministic=True),
            width=width,
            height=height,
            family=board.scene_family,
            subject_kind=board.subject,
            video_seed=int(request.seed),
            mood=mood_t,
            characters=tuple(characters) if subject else (),
            pose_variants=cfg.pose_layers if subject else 0,
            export_layers=cfg.layers and procedural,
            png_level=cfg.png_compression,
        )
        inputs = {
            "engine": SHOT_ENGINE,
            "backend": backend.identity(),
            "negative": "" if procedural else cfg.negative_prompt,
            "video_prompt": drawing.video_prompt,
            "prompt": prompt,
            "size": [width, height],
            "seed": seed,
            "family": drawing.family,
            "subject_kind": drawing.subject_kind,
            "framing": FRAMING_NAMES.get(shot.framing, "wide"),
            "viewpoint": shot.viewpoint,
            "look": int(shot.look),
            "subject": subject,
            "intensity": round(float(shot.intensity), 6),
            "mood": [round(x, 6) for x in mood_t[:3]] + [mood_t[3]],
            "characters": [c.sha256 for c in drawing.characters],
            "poses": drawing.pose_variants,
            "layers": drawing.export_layers,
            "png": cfg.png_compression,
        }
        digest = input_hash(inputs)[:12]
        key = shot_keyframe_key(project, shot.id, digest)
        jobs.append(ShotJob(shot, prompt, seed, drawing, digest, key))
    return jobs


def selected(jobs: list[ShotJob], shot_ids: Iterable[str]) -> list[ShotJob]:
    """The jobs `shot_ids` asks for (all when empty); unknown ids are an error naming them."""
    wanted = list(shot_ids)
    if not wanted:
        return jobs
    known = {j.shot.id for j in jobs}
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise InvalidInput(
            f"unknown shot_ids {unknown}; the storyboard has {len(known)} shots "
            f"({jobs[0].shot.id}..{jobs[-1].shot.id})"
        )
    keep = set(wanted)
    return [j for j in jobs if j.shot.id in keep]


# -- drawing and storing ----------------------------------------------------------------------


def _keyframe(job: ShotJob, backend: str) -> seeder_pb2.Keyframe:
    return seeder_pb2.Keyframe(
        key_moment_id=job.shot.key_moment_id,
        time=float(job.shot.start_time),
        prompt=job.prompt,
        seed=job.seed,
        backend=backend,
        shot_id=job.shot.id,
    )


def cached(job: ShotJob, store: ArtifactStore) -> seeder_pb2.Keyframe | None:
    """The stored keyframe of this exact picture, re-addressed to the shot as it is now."""
    kf = job.stored(store)
    if kf is None:
        return None
    kf.time = float(job.shot.start_time)
    kf.shot_id = job.shot.id
    kf.key_moment_id = job.shot.key_moment_id
    return kf


def store_drawn(
    job: ShotJob, drawn: Drawn, backend: str, store: ArtifactStore
) -> seeder_pb2.Keyframe:
    kf = _keyframe(job, backend)
    kf.image.CopyFrom(store.put_bytes(job.key, drawn.image, "image/png"))
    for name, png in zip(drawn.layer_names, drawn.layers, strict=True):
        kf.layers.append(store.put_bytes(job.layer_key(name), png, "image/png"))
    kf.layer_names.extend(drawn.layer_names)
    kf.palette.extend(drawn.palette)
    meta = {
        "keyframe": json_format.MessageToDict(kf, preserving_proto_field_name=True),
        "input_hash": job.input_hash,
        "shot": json_format.MessageToDict(job.shot, preserving_proto_field_name=True),
        "info": drawn.info,
    }
    store.put_bytes(
        job.meta_key, json.dumps(meta, indent=2, sort_keys=True).encode(), "application/json"
    )
    return kf


def _over(image: np.ndarray, rgba: np.ndarray) -> np.ndarray:
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    flat = image.astype(np.float32) * (1 - a) + rgba[..., :3].astype(np.float32) * a
    return (np.clip(flat, 0, 255) + 0.5).astype(np.uint8)


def draw_with_backend(job: ShotJob, backend: ImageBackend, cfg: SeederSettings) -> Drawn:
    """One request to an HTTP backend for the shot, the cut-outs added where the shot shows
    the subject (placed as the procedural framing places them)."""
    task = job.drawing
    guide = None
    if task.characters:
        guide = _render(task, export_layers=True, pose_variants=0)
    init = None
    if guide is not None and getattr(backend, "accepts_init_image", False):
        init = encode_png(guide.image, cfg.png_compression)
    out = backend.generate(
        ImageRequest(
            prompt=job.prompt,
            negative_prompt=cfg.negative_prompt,
            width=task.width,
            height=task.height,
            seed=job.seed,
            init_image=init,
        )
    )
    image = out.image
    if guide is not None and not out.characters_included and "character" in guide.layer_names:
        image = _over(image, guide.layers[guide.layer_names.index("character")])
    return Drawn(
        image=encode_png(image, cfg.png_compression),
        layers=[],
        layer_names=[],
        palette=out.palette,
        info=dict(out.info),
    )


def _executor(backend: ImageBackend, cfg: SeederSettings, n: int) -> tuple[Executor, bool]:
    """Procedural: worker processes (shared, kept); HTTP: threads for this call."""
    if backend.name == "procedural" and cfg.workers > 1 and n > 1:
        return _process_pool(cfg.workers), True
    return ThreadPoolExecutor(max(1, min(cfg.workers, n)), thread_name_prefix="seeder"), False


def draw_shots(
    jobs: list[ShotJob],
    backend: ImageBackend,
    store: ArtifactStore,
    cfg: SeederSettings,
    report: Report,
) -> dict[str, seeder_pb2.Keyframe]:
    """Draw (or reuse) every job's keyframe, reporting each shot as it is stored."""
    total = len(jobs)
    results: dict[str, seeder_pb2.Keyframe] = {}
    to_draw = []
    for job in jobs:
        kf = cached(job, store)
        if kf is None:
            to_draw.append(job)
        else:
            results[job.shot.id] = kf
    done = len(results)
    report(done, total, f"drawing {len(to_draw)} of {total} shots with {backend.name}")
    if not to_draw:
        return results
    pool, shared = _executor(backend, cfg, len(to_draw))
    procedural = backend.name == "procedural"
    try:
        futures: dict[Future[Drawn], ShotJob] = {}
        for job in to_draw:
            if procedural:
                futures[pool.submit(draw, job.drawing)] = job
            else:
                futures[pool.submit(draw_with_backend, job, backend, cfg)] = job
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                drawn = fut.result()
            except LumiereError as exc:
                # Name the shot: "shot-004 (comfyui): content policy: ..." is actionable.
                raise type(exc)(f"shot {job.shot.id} ({backend.name}): {exc}") from exc
            done += 1
            # Reported before it is stored: once the call is gone (project cancelled or
            # deleted) `report` raises, so nothing more is written for it.
            report(done, total, f"shot {done}/{total} ({job.shot.id})")
            results[job.shot.id] = store_drawn(job, drawn, backend.name, store)
    except BrokenProcessPool:
        _drop_pool()  # a worker died (killed, out of memory): start fresh next call
        raise
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise
    finally:
        if not shared:
            pool.shutdown(wait=True, cancel_futures=True)
    return results


def store_shot_sheet(
    project: str,
    jobs: list[ShotJob],
    keyframes: dict[str, seeder_pb2.Keyframe],
    store: ArtifactStore,
) -> common_pb2.ArtifactRef:
    """The storyboard's image strip: every shot in timeline order, labelled with its number,
    start time, framing and viewpoint (an empty tile for a shot not drawn yet)."""
    digest = input_hash([[j.input_hash, round(j.shot.start_time, 3)] for j in jobs])[:12]
    images: list[np.ndarray | None] = []
    labels = []
    for n, job in enumerate(jobs, start=1):
        kf = keyframes.get(job.shot.id)
        images.append(decode_image(store.get_bytes(kf.image.key)) if kf else None)
        t = float(job.shot.start_time)
        framing = FRAMING_NAMES.get(job.shot.framing, "wide").replace("_", "-")
        labels.append(
            f"#{n} {int(t // 60)}:{t % 60:04.1f}  {job.shot.id}\n{framing} {job.shot.viewpoint}"
            + (" +subject" if job.shot.subject else "")
        )
    sheet = contact_sheet(images, labels, thumb_width=240, columns=min(8, len(jobs)))
    return store.put_bytes(contact_sheet_key(project, digest), encode_png(sheet, 6), "image/png")


def generate_shot_keyframes(
    request: seeder_pb2.GenerateKeyframesRequest,
    store: ArtifactStore,
    cfg: SeederSettings,
    backend: ImageBackend,
    characters: list[Character],
    report: Report,
) -> seeder_pb2.GenerateKeyframesResult:
    """The storyboard path of the stage: the asked-for shots' keyframes (timeline order) and
    the strip of the whole storyboard."""
    jobs = shot_jobs(request, cfg, backend, characters)
    chosen = selected(jobs, request.shot_ids)
    drawn = draw_shots(chosen, backend, store, cfg, report)
    everything = dict(drawn)
    for job in jobs:  # shots not asked for: their stored keyframes, when there are any
        if job.shot.id not in everything and (kf := cached(job, store)) is not None:
            everything[job.shot.id] = kf
    sheet = store_shot_sheet(request.project_id, jobs, everything, store)
    return seeder_pb2.GenerateKeyframesResult(
        keyframes=[drawn[j.shot.id] for j in chosen], contact_sheet=sheet
    )
