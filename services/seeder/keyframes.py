"""From a GenerateKeyframes request to stored keyframes: plan, render in parallel, store.

A concept with a storyboard gets one keyframe per shot (shot_keyframes.py); this module's own
path is one keyframe per key moment, for concepts without one.

Every output key carries a short hash of everything that shapes the picture (backend identity,
prompt, size, seed, role, intensity, mood, characters), so re-running with the same inputs
addresses the same artifacts: they are reused when already stored, and re-rendering them gives
byte-identical PNGs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
from google.protobuf import json_format
from lumiere.v1 import common_pb2, concept_pb2, seeder_pb2

from services.common.contract import check_project_id, contact_sheet_key, keyframe_key
from services.common.enum_names import enum_values
from services.common.errors import InvalidInput
from services.common.images import decode_image, encode_png
from services.common.storage import ArtifactStore
from services.seeder.backends.base import ImageBackend, ImageRequest
from services.seeder.characters import Character, character_height, scale_character
from services.seeder.config import SeederSettings
from services.seeder.images import contact_sheet
from services.seeder.inputs import (
    StoredImageKeys,
    derive_seed,
    input_hash,
    load_characters,
    resolve_size,
)
from services.seeder.palette import Palette, hex_to_rgb
from services.seeder.scene import ROLE_LOOKS, SceneSpec, Sprite, place_characters, render_scene
from services.seeder.shot_keyframes import generate_shot_keyframes

__all__ = ["derive_seed", "generate_keyframes", "load_characters", "resolve_size"]

Report = Callable[[int, int, str], None]

LAYER_NAMES = ("background", "mid", "foreground", "character")

ROLE_NAMES = {
    concept_pb2.MOMENT_ROLE_UNSPECIFIED: "unspecified",
    **{v: k for k, v in enum_values(concept_pb2.MomentRole.DESCRIPTOR, "MOMENT_ROLE_").items()},
}


@dataclass(frozen=True)
class KeyframeJob(StoredImageKeys):
    index: int  # position of the key moment in concept.key_moments (stable across subsets)
    moment_id: str
    time: float
    prompt: str
    seed: int
    spec: SceneSpec
    input_hash: str
    key: str  # storage key of the flattened PNG


def keyframe_prompt(
    concept: concept_pb2.Concept, moment: concept_pb2.KeyMoment, override: str, style: str
) -> str:
    prompt = (override or moment.prompt or concept.prompt or concept.description).strip()
    if style.strip():
        prompt = f"{prompt}, {style.strip()}" if prompt else style.strip()
    return prompt


def plan_keyframes(
    request: seeder_pb2.GenerateKeyframesRequest,
    cfg: SeederSettings,
    backend: ImageBackend,
    characters: list[Character],
) -> list[KeyframeJob]:
    """Validate the request and decide every keyframe's prompt, seed, scene and key."""
    project = check_project_id(request.project_id)
    concept = request.concept
    moments = list(concept.key_moments)
    if not moments:
        raise InvalidInput("concept has no key moments: analyse the audio first")
    ids = [m.id for m in moments]
    if len(set(ids)) != len(ids):
        raise InvalidInput("concept has duplicate key moment ids")
    wanted = list(request.key_moment_ids)
    unknown = [i for i in wanted if i not in ids]
    if unknown:
        raise InvalidInput(f"unknown key_moment_ids {unknown}; the concept has {ids}")
    bad_overrides = sorted(set(request.prompt_overrides) - set(ids))
    if bad_overrides:
        raise InvalidInput(f"prompt_overrides name unknown key moments {bad_overrides}")
    width, height = resolve_size(request)
    mood = concept.mood
    has_mood = concept.HasField("mood")
    video_prompt = ", ".join(p for p in (concept.prompt.strip(), request.style.strip()) if p)
    if not video_prompt:
        video_prompt = keyframe_prompt(concept, moments[0], "", request.style)
    sprites: list[Sprite] = []
    if characters:
        ch = character_height(height, width, characters)
        sprites = [Sprite(scale_character(c, ch)) for c in characters]
    char_shas = [c.sha256 for c in characters]

    jobs: list[KeyframeJob] = []
    for index, moment in enumerate(moments):
        if wanted and moment.id not in wanted:
            continue
        prompt = keyframe_prompt(
            concept, moment, request.prompt_overrides.get(moment.id, ""), request.style
        )
        seed = derive_seed(request.seed, index)
        role = ROLE_NAMES.get(moment.role, "unspecified")
        spec = SceneSpec(
            prompt=prompt,
            width=width,
            height=height,
            seed=seed,
            video_prompt=video_prompt,
            video_seed=request.seed,
            role=role,
            intensity=float(min(max(moment.intensity, 0.0), 1.0)),
            mood_energy=float(mood.energy) if has_mood else 0.5,
            mood_brightness=float(mood.brightness) if has_mood else 0.5,
            mood_valence=float(mood.valence) if has_mood else 0.5,
            index=index,
            characters=sprites,
            export_layers=cfg.layers,
            mood_words=" ".join(mood.descriptors) if has_mood else "",
        )
        inputs = {
            "backend": backend.identity(),
            "prompt": prompt,
            "negative": cfg.negative_prompt if backend.name != "procedural" else "",
            "video_prompt": video_prompt,
            "size": [width, height],
            "seed": seed,
            "video_seed": request.seed,
            "role": role,
            "intensity": round(spec.intensity, 6),
            "mood": [
                round(spec.mood_energy, 6),
                round(spec.mood_brightness, 6),
                round(spec.mood_valence, 6),
                spec.mood_words,
            ],
            "index": index,
            "characters": char_shas,
            "png": cfg.png_compression,
        }
        digest = input_hash(inputs)[:12]
        key = keyframe_key(project, index, digest)
        jobs.append(
            KeyframeJob(index, moment.id, float(moment.time), prompt, seed, spec, digest, key)
        )
    return jobs


# What each moment's role asks of an AI image model (the procedural engine reads the numbers).
ROLE_WORDS = {
    "intro": "calm, wide establishing shot, soft light",
    "build": "rising tension, dynamic angle",
    "climax": "intense, dramatic lighting, vivid colours, dynamic composition",
    "bridge": "contemplative, different perspective",
    "peak": "euphoric, bright highlights, high energy",
    "resolution": "serene, warm gentle light, resolved",
    "unspecified": "cinematic",
}


def music_words(spec: SceneSpec) -> str:
    """Prompt words for HTTP backends so AI images follow the music like procedural ones do."""
    energy = spec.intensity
    level = (
        "very energetic"
        if energy > 0.8
        else "energetic"
        if energy > 0.55
        else ("gentle" if energy < 0.3 else "moderate energy")
    )
    words = [ROLE_WORDS.get(spec.role, ROLE_WORDS["unspecified"]), level]
    if spec.mood_words:
        words.append(f"{spec.mood_words} mood")
    words.append("music video keyframe, cinematic")
    return ", ".join(words)


def render_job(
    job: KeyframeJob,
    backend: ImageBackend,
    store: ArtifactStore,
    cfg: SeederSettings,
    characters: list[Character],
) -> seeder_pb2.Keyframe:
    """Render one keyframe (or reuse the stored one) and store image, layers and metadata."""
    cached = job.stored(store)
    if cached is not None:
        return cached
    init = None
    if characters and getattr(backend, "accepts_init_image", False):
        # img2img starts from our own composition: the procedural keyframe with the characters
        # in place, so the AI picture keeps the music-driven framing and the characters.
        init = encode_png(render_scene(job.spec).image, cfg.png_compression)
    prompt = job.prompt
    if backend.name != "procedural":
        prompt = f"{prompt}, {music_words(job.spec)}" if prompt else music_words(job.spec)
    out = backend.generate(
        ImageRequest(
            prompt=prompt,
            negative_prompt=cfg.negative_prompt,
            width=job.spec.width,
            height=job.spec.height,
            seed=job.seed,
            init_image=init,
            scene=job.spec,
        )
    )
    image = out.image
    if job.spec.characters and not out.characters_included:
        image = composite_characters(image, job, out.palette)
    ref = store.put_bytes(job.key, encode_png(image, cfg.png_compression), "image/png")
    layer_refs = []
    names = LAYER_NAMES if out.has_character_layer else LAYER_NAMES[:3]
    for name, layer in zip(names, out.layers, strict=False):
        layer_refs.append(
            store.put_bytes(
                job.layer_key(name), encode_png(layer, cfg.png_compression), "image/png"
            )
        )
    kf = seeder_pb2.Keyframe(
        key_moment_id=job.moment_id,
        time=job.time,
        prompt=job.prompt,
        image=ref,
        layers=layer_refs,
        seed=job.seed,
        backend=backend.name,
        palette=out.palette,
        layer_names=names[: len(layer_refs)],
    )
    meta = {
        "keyframe": json_format.MessageToDict(kf, preserving_proto_field_name=True),
        "index": job.index,
        "input_hash": job.input_hash,
        "role": job.spec.role,
        "intensity": job.spec.intensity,
        "layer_names": list(names[: len(layer_refs)]),
        "backend_prompt": prompt,
        "info": out.info,
    }
    store.put_bytes(
        job.meta_key, json.dumps(meta, indent=2, sort_keys=True).encode(), "application/json"
    )
    return kf


def composite_characters(image: np.ndarray, job: KeyframeJob, palette_hex: list[str]) -> np.ndarray:
    """Place the cut-out characters on a picture from a backend that does not draw them."""
    cols = [hex_to_rgb(c) for c in (palette_hex + ["#000000"] * 5)[:5]]
    pal = Palette(*cols)
    look = ROLE_LOOKS.get(job.spec.role, ROLE_LOOKS["unspecified"])
    layer = place_characters(job.spec, look, pal, min(image.shape[:2]) / 720.0, 1.0)
    if layer is None:
        return image
    rgba = layer.straight()
    a = rgba[..., 3:4]
    flat = image.astype(np.float32) / 255.0 * (1 - a) + rgba[..., :3] * a
    return (np.clip(flat, 0, 1) * 255 + 0.5).astype(np.uint8)


def generate_keyframes(
    request: seeder_pb2.GenerateKeyframesRequest,
    store: ArtifactStore,
    cfg: SeederSettings,
    backend: ImageBackend,
    report: Report,
) -> seeder_pb2.GenerateKeyframesResult:
    """The whole stage: validate, render keyframes in parallel (bounded), store, contact sheet.

    With a storyboard in the concept: one keyframe per shot (services/seeder/shot_keyframes.py);
    without one: one per key moment (here)."""
    report(0, 1, "loading character images")
    characters = load_characters(list(request.character_images), store, cfg)
    if request.concept.storyboard.shots:
        return generate_shot_keyframes(request, store, cfg, backend, characters, report)
    if request.shot_ids:
        raise InvalidInput("shot_ids given but the concept has no storyboard shots")
    jobs = plan_keyframes(request, cfg, backend, characters)
    total = len(jobs)
    report(0, total, f"rendering {total} keyframes with {backend.name}")
    results: dict[int, seeder_pb2.Keyframe] = {}
    with ThreadPoolExecutor(
        max_workers=min(cfg.workers, total), thread_name_prefix="seeder"
    ) as pool:
        futures = {
            pool.submit(render_job, job, backend, store, cfg, characters): job for job in jobs
        }
        for done, fut in enumerate(as_completed(futures), start=1):
            job = futures[fut]
            results[job.index] = fut.result()
            report(done, total, f"keyframe {done}/{total} ({job.moment_id})")
    keyframes = [results[j.index] for j in jobs]
    sheet_ref = store_contact_sheet(request.project_id, jobs, keyframes, store, cfg)
    return seeder_pb2.GenerateKeyframesResult(keyframes=keyframes, contact_sheet=sheet_ref)


def store_contact_sheet(
    project: str,
    jobs: list[KeyframeJob],
    keyframes: list[seeder_pb2.Keyframe],
    store: ArtifactStore,
    cfg: SeederSettings,
) -> common_pb2.ArtifactRef:
    digest = input_hash([j.input_hash for j in jobs])[:12]
    key = contact_sheet_key(project, digest)
    images = [decode_image(store.get_bytes(kf.image.key)) for kf in keyframes]
    labels = [f"{j.index}: {j.moment_id} {j.spec.role} @{j.time:.1f}s" for j in jobs]
    sheet = contact_sheet(images, labels)
    return store.put_bytes(key, encode_png(sheet, 6), "image/png")
