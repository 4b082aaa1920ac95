"""One storyboard shot's keyframe: viewpoint, framing, look and subject on the video's palette.

`render_shot(video_prompt, shot, width, height)` is a pure function of its arguments (every
random choice comes from the shot's seed), reusing the keyframe engine: the palette is the
video's (scene.scene_palette), the place is the shot's viewpoint of the prompt's scene family
(viewpoints.py), framing decides how close the camera is (a zoomed crop with depth of field for
close shots) and how big the subject is, the look re-casts the palette and the lighting
(looks.py). The subject (a procedural figure, or the character cut-outs) is its own layer.

Layers come back in the keyframe message's order (background, mid, foreground, character),
with `layer_names` saying which are present; `poses` holds the subject layer in other poses
(same place and size) so an animator can switch poses on the beat.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from lumiere.v1 import storyboard_pb2

from services.seeder import drawing as d
from services.seeder import frames
from services.seeder.characters import Character, grade_character, scale_character
from services.seeder.drawing import Layer
from services.seeder.figures import KINDS, draw_figure, figure_kind, pose_count, subject_in
from services.seeder.looks import Look, backlight, look_for, look_grade, look_palette
from services.seeder.motifs import REFLECTIVE, Ctx, Layers, apply_effects, reflect_into_water
from services.seeder.palette import Palette, stable_hash
from services.seeder.scene import (
    ROLE_LOOKS,
    Grade,
    SceneSpec,
    _grade_params,
    choose_family,
    flatten,
    paste_backlit,
    scene_palette,
    video_light_side,
)
from services.seeder.viewpoints import VIEWS, View, resolve_view
from services.seeder.vocabulary import interpret

FRAMING_NAMES = {
    storyboard_pb2.FRAMING_UNSPECIFIED: "wide",
    storyboard_pb2.FRAMING_WIDE: "wide",
    storyboard_pb2.FRAMING_MEDIUM: "medium",
    storyboard_pb2.FRAMING_CLOSE_UP: "close_up",
    storyboard_pb2.FRAMING_DETAIL: "detail",
    storyboard_pb2.FRAMING_SUBJECT: "subject",
    storyboard_pb2.FRAMING_ABSTRACT: "abstract",
}


@dataclass(frozen=True)
class Framing:
    zoom: float  # camera crop into the scene (1 = the whole view)
    subject_h: float  # subject height as a fraction of the frame height
    head_top: float | None  # close shots: where the head's top sits (fraction of height)
    dof: float  # background blur in design pixels (depth of field)
    centred: bool  # subject in the middle (else on a third)
    dim: float  # background darkening, so the subject reads


FRAMINGS: dict[str, Framing] = {
    "wide": Framing(1.0, 0.3, None, 0.0, False, 0.0),
    "medium": Framing(1.3, 0.74, None, 1.5, False, 0.05),
    "close_up": Framing(1.7, 1.9, 0.08, 5.0, True, 0.15),
    "detail": Framing(2.2, 2.6, -0.1, 6.0, False, 0.1),
    "subject": Framing(1.15, 0.84, None, 3.0, True, 0.25),
    "abstract": Framing(1.0, 0.62, None, 0.0, True, 0.0),
}


@dataclass(frozen=True)
class ShotSpec:
    """What render_shot needs of a storyboard Shot (see shot_spec for the conversion)."""

    framing: str = "wide"
    viewpoint: str = ""
    look: int = 0
    subject: bool = False
    seed: int = 0
    prompt: str = ""  # the shot's own prompt ("" = the video's)
    intensity: float = 0.5
    pose: int = -1  # -1: from the seed


def shot_spec(shot: storyboard_pb2.Shot) -> ShotSpec:
    return ShotSpec(
        framing=FRAMING_NAMES.get(shot.framing, "wide"),
        viewpoint=shot.viewpoint,
        look=int(shot.look),
        subject=bool(shot.subject),
        seed=int(shot.seed),
        prompt=shot.prompt,
        intensity=float(min(max(shot.intensity, 0.0), 1.0)) if shot.intensity else 0.5,
    )


@dataclass
class ShotRender:
    image: np.ndarray  # HxWx3 uint8
    layers: list[np.ndarray]  # HxWx4 uint8, in layer_names order
    layer_names: list[str]
    palette: Palette
    family: str
    viewpoint: str
    look: str
    subject: str  # the figure kind drawn, "characters", or ""
    poses: list[np.ndarray] = field(default_factory=list)  # the subject layer in other poses


def _crop_zoom(layers: Layers, zoom: float, cx: float, cy: float) -> tuple[Layers, tuple]:
    """Zoom the camera into (cx, cy) (fractions): crop every layer alike and scale it back up."""
    h, w = layers.bg.shape[:2]
    cw, ch = w / zoom, h / zoom
    x0 = float(np.clip(cx * w - cw / 2, 0, w - cw))
    y0 = float(np.clip(cy * h - ch / 2, 0, h - ch))
    m = np.array([[zoom, 0, -x0 * zoom], [0, zoom, -y0 * zoom]], np.float64)

    def warp(img: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(
            img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )

    def warp_layer(layer: Layer) -> Layer:
        out = Layer.__new__(Layer)
        out.rgb = warp(layer.rgb)
        out.a = warp(layer.a)
        return out

    return Layers(warp(layers.bg), warp_layer(layers.mid), warp_layer(layers.fg)), (x0, y0, zoom)


def _defocus(img: np.ndarray, sigma_px: float) -> np.ndarray:
    """A cheap wide blur: down-sample, blur, up-sample (scenery behind a close subject)."""
    if sigma_px <= 0.5:
        return img
    h, w = img.shape[:2]
    f = max(1, int(sigma_px / 2))
    small = cv2.resize(img, (max(4, w // f), max(4, h // f)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=max(0.6, sigma_px / f))
    return d.resize(small, w, h)


def _blur_layer(layer: Layer, sigma_px: float) -> None:
    if sigma_px > 0.5:
        layer.rgb = _defocus(layer.rgb, sigma_px)
        layer.a = _defocus(layer.a, sigma_px)


def _figure_place(
    fr: Framing, view: View, h: int, w: int, height_px: float, x: float, ground_y: float
) -> tuple[float, float]:
    """Feet position (pixels) for a figure of `height_px`."""
    if fr.head_top is not None:
        return x, fr.head_top * h + height_px * 1.0
    if view.floating:
        return x, 0.5 * h + height_px * 0.5
    return x, min(ground_y, h * 0.985)


def _sprite_layer(
    chars: list[Character],
    fr: Framing,
    h: int,
    w: int,
    pal: Palette,
    light_side: float,
    px: float,
    pick: int,
    ground_y: float,
    x_frac: float,
) -> Layer:
    """Character cut-outs framed by the shot: all of them in wide shots, one in close shots."""
    layer = Layer(h, w)
    close = fr.head_top is not None
    group = [chars[pick % len(chars)]] if close or len(chars) == 1 else chars
    # Photos need more pixels than a silhouette to read: at least half the frame tall.
    target = (fr.subject_h if close else max(fr.subject_h, 0.5)) * h
    if not close:
        total = sum(c.rgba.shape[1] / c.rgba.shape[0] for c in group) * 1.08
        target = min(target, 0.92 * w / max(total, 1e-6))
    sprites = [scale_character(c, max(8, int(target))) for c in group]
    total_w = sum(s.shape[1] for s in sprites) * 1.08
    x = x_frac * w - total_w / 2
    if total_w < 0.96 * w:
        x = min(max(x, 0.02 * w), w - total_w - 0.02 * w)
    for rgba in sprites:
        graded = grade_character(rgba, pal, light_side)
        sh, sw = graded.shape[:2]
        top = fr.head_top
        y0 = int(round(top * h)) if top is not None else int(round(min(ground_y, 0.985 * h) - sh))
        paste_backlit(layer, graded, int(round(x)), y0, pal, px)
        x += sw * 1.08
    return layer


def render_shot(
    video_prompt: str,
    shot: ShotSpec | storyboard_pb2.Shot,
    width: int,
    height: int,
    *,
    subject_kind: str = "",
    characters: list[Character] | None = None,
    video_seed: int = 0,
    mood_energy: float = 0.5,
    mood_brightness: float = 0.5,
    mood_valence: float = 0.5,
    mood_words: str = "",
    export_layers: bool = True,
    pose_variants: int = 0,
    family: str = "",
) -> ShotRender:
    """Draw one shot's keyframe. `subject_kind` is the storyboard's subject ("dancer", "dancers";
    "" = the figure the prompt names); `characters` replace the procedural figure when given;
    `family` is the storyboard's scene family (the shot's viewpoints belong to it; "" or an
    unknown name = the family the prompts ask for)."""
    spec = shot if isinstance(shot, ShotSpec) else shot_spec(shot)
    h, w = height, width
    fr = FRAMINGS.get(spec.framing, FRAMINGS["wide"])
    look: Look = look_for(spec.look)
    scene = SceneSpec(
        prompt=spec.prompt or video_prompt,
        width=w,
        height=h,
        seed=spec.seed,
        video_prompt=video_prompt,
        video_seed=video_seed,
        intensity=spec.intensity,
        mood_energy=mood_energy,
        mood_brightness=mood_brightness,
        mood_valence=mood_valence,
        mood_words=mood_words,
        export_layers=export_layers,
    )
    base_pal, own, video = scene_palette(scene)
    pal = look_palette(base_pal, look)
    family = family if family in VIEWS else choose_family(own, video)
    view = resolve_view(family, spec.framing, spec.viewpoint, spec.seed)
    mood = interpret(mood_words)
    effects = list(dict.fromkeys(own.effects + video.effects + mood.effects[:1]))[:3]
    style = own.grade or video.grade
    intensity = float(
        np.clip(
            0.6 * spec.intensity + 0.25 * mood_energy + 0.12 * (own.energy or video.energy), 0, 1
        )
    )
    rng = np.random.default_rng(stable_hash("shot", spec.seed, view.name) & 0xFFFFFFFFFFFFFFFF)
    light_side = video_light_side(video_seed, video_prompt)
    role = ROLE_LOOKS["unspecified"]
    jitter = rng.uniform(-0.08, 0.08, 2)
    side = 1 if rng.random() < 0.5 else -1
    focal_x = 0.5 + (0.17 * side if not fr.centred else 0.0) + jitter[0] * 0.5
    horizon = view.horizon if view.horizon is not None else role.horizon
    ctx = Ctx(
        h=h,
        w=w,
        rng=rng,
        pal=pal,
        intensity=intensity,
        horizon=float(np.clip(horizon + jitter[1] * 0.3, 0.3, 0.85)),
        focal=(float(1.0 - focal_x), float(0.45 + jitter[1])),
        light_side=light_side,
        effects=effects,
        variant=int(stable_hash("variant", spec.seed) % 12),
        tags=frozenset(own.terms + video.terms),
    )
    layers = view.draw(ctx)
    motifs = own.motifs or video.motifs
    if view.reflect and family in REFLECTIVE and motifs.get("water", 0.0) >= 0.5:
        reflect_into_water(ctx, layers, REFLECTIVE[family])
    if view.frame == "window":
        layers = frames.window(ctx, layers)
    elif view.frame == "porthole":
        layers = frames.porthole(ctx, layers)

    # Camera distance: close framings crop into the scene (not into detail views, which are
    # close already) around the subject's side of the frame.
    zoom = 1.0 if view.detail else fr.zoom
    ground_y = view.ground * h
    if zoom > 1.0:
        layers, (x0, y0, z) = _crop_zoom(layers, zoom, focal_x, 0.55)
        ground_y = (ground_y - y0) * z
    apply_effects(ctx, layers)
    dof = fr.dof * ctx.px * (1.0 if spec.subject else 0.5)
    if dof > 0:
        layers.bg = _defocus(layers.bg, dof)
        _blur_layer(layers.mid, dof * 0.8)
    if fr.dim > 0 and spec.subject:
        layers.bg *= 1.0 - fr.dim
        layers.mid.rgb *= 1.0 - fr.dim

    subject_layer: Layer | None = None
    pose_layers: list[Layer] = []
    kind = ""
    if spec.subject:
        x = focal_x * w
        if characters:
            kind = "characters"
            subject_layer = _sprite_layer(
                characters, fr, h, w, pal, light_side, ctx.px, spec.seed, ground_y, focal_x
            )
        else:
            kind = figure_kind(subject_kind) or subject_in(spec.prompt or video_prompt)
            kind = kind or KINDS[stable_hash("kind", video_prompt) % 4]
            height_px = fr.subject_h * h * (0.75 if kind == "band" and fr.head_top is None else 1.0)
            feet = _figure_place(fr, view, h, w, height_px, x, ground_y)
            n = pose_count(kind)
            pose = spec.pose if spec.pose >= 0 else int(stable_hash("pose", spec.seed) % n)
            # Other poses, never repeating one (a kind with 2 poses gets 1 variant).
            for k in range(1 + min(max(0, pose_variants), n - 1)):
                layer = Layer(h, w)
                draw_figure(layer, kind, (pose + k) % n, feet, height_px, pal, light_side, ctx.px)
                if k == 0:
                    subject_layer = layer
                else:
                    pose_layers.append(layer)

    base = Grade.make(_grade_params(scene, intensity, style, 0.0), style)
    grade = look_grade(look, pal, (base.A, base.B, base.C))
    back = None
    if look.lighting == "backlit" or (
        spec.subject and fr.head_top is None and look.lighting == "glow"
    ):
        back = backlight(h, w, pal, focal_x, 0.42, ctx.px)
    image, out_layers = flatten(
        ctx,
        layers,
        grade,
        subject_layer,
        vignette=role.vignette * look.vignette,
        export_layers=export_layers,
        bloom_gain=look.bloom,
        backlight=back,
    )
    names = ["background", "mid", "foreground"] + (
        ["character"] if subject_layer is not None else []
    )
    poses = []
    if export_layers:
        for layer in pose_layers:
            poses.append(d.straight_u8(layer.rgb, layer.a))
    return ShotRender(
        image=image,
        layers=out_layers,
        layer_names=names if export_layers else [],
        palette=pal,
        family=family,
        viewpoint=view.name,
        look=look.name,
        subject=kind,
        poses=poses,
    )
