"""One keyframe: prompt + music -> composition, palette, motif layers, grade, characters, post.

`render_scene(spec)` is a pure function of its spec: the same spec gives the same pixels (every
random choice comes from a generator seeded by the spec), so stored PNGs are byte-identical.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from services.seeder import drawing as d
from services.seeder.characters import grade_character
from services.seeder.drawing import F32, Layer
from services.seeder.motifs import (
    FAMILY_RENDERERS,
    REFLECTIVE,
    Ctx,
    Layers,
    apply_effects,
    reflect_into_water,
)
from services.seeder.palette import Palette, build_palette, stable_hash
from services.seeder.vocabulary import FAMILIES, Interpretation, interpret

ROLES = ("unspecified", "intro", "build", "climax", "bridge", "peak", "resolution")


@dataclass(frozen=True)
class RoleLook:
    horizon: float
    focal: tuple[float, float]
    intensity_bias: float
    hue: float
    sat: float
    val: float
    vignette: float
    character_x: float  # where a character stands (fraction of width)


# How each role frames the picture: a calm intro sits low and wide, the climax is centred and
# saturated, the bridge leans to one side with a slight hue turn, the resolution is warm and soft.
ROLE_LOOKS: dict[str, RoleLook] = {
    "unspecified": RoleLook(0.6, (0.5, 0.48), 0.0, 0.0, 1.0, 1.0, 0.4, 0.5),
    "intro": RoleLook(0.66, (0.5, 0.52), -0.12, -0.015, 0.82, 0.88, 0.5, 0.3),
    "build": RoleLook(0.58, (0.34, 0.45), 0.0, 0.0, 0.95, 0.95, 0.42, 0.68),
    "climax": RoleLook(0.55, (0.5, 0.42), 0.12, 0.0, 1.15, 1.06, 0.3, 0.5),
    "bridge": RoleLook(0.68, (0.7, 0.5), -0.05, 0.04, 0.9, 0.92, 0.45, 0.3),
    "peak": RoleLook(0.52, (0.62, 0.4), 0.1, -0.02, 1.12, 1.04, 0.32, 0.42),
    "resolution": RoleLook(0.63, (0.4, 0.5), -0.1, -0.03, 0.88, 0.95, 0.5, 0.66),
}


@dataclass(frozen=True)
class Sprite:
    """A cut-out character: RGBA uint8 at its on-screen scale (graded per keyframe)."""

    rgba: np.ndarray


@dataclass
class SceneSpec:
    prompt: str
    width: int
    height: int
    seed: int
    video_prompt: str = ""
    video_seed: int = 0
    role: str = "unspecified"
    intensity: float = 0.5
    mood_energy: float = 0.5
    mood_brightness: float = 0.5
    mood_valence: float = 0.5
    index: int = 0
    characters: list[Sprite] = field(default_factory=list)
    export_layers: bool = True
    # The concept's mood descriptors ("dark", "euphoric", ...), space separated.
    mood_words: str = ""


@dataclass
class Rendered:
    image: np.ndarray  # HxWx3 uint8 RGB, flattened with post effects
    layers: list[np.ndarray]  # HxWx4 uint8 RGBA: background, mid, foreground[, character]
    palette: Palette
    family: str
    effects: list[str]


def choose_family(interp: Interpretation, fallback: Interpretation | None = None) -> str:
    for source in (interp, fallback):
        if source is not None and source.motifs:
            return source.top_families(1)[0]
    words = sorted(interp.unknown) or sorted(fallback.unknown if fallback else [])
    return FAMILIES[stable_hash("family", *words) % len(FAMILIES)]


def scene_palette(spec: SceneSpec) -> tuple[Palette, Interpretation, Interpretation]:
    """The video's shared palette (from the video prompt), unless this moment names colours."""
    own = interpret(spec.prompt)
    video = interpret(spec.video_prompt or spec.prompt)
    source = own if own.colors and not set(own.colors) <= set(video.colors) else video
    if not source.colors and not source.unknown:
        source = own
    mood = interpret(spec.mood_words)
    if mood.terms:
        # The music's own mood words tint the palette (warm/cool, light/dark) but never replace
        # the colours the prompt asked for.
        source = dataclasses.replace(
            source,
            warmth=float(np.clip(source.warmth + 0.5 * mood.warmth, -1, 1)),
            light=float(np.clip(source.light + 0.5 * mood.light, -1, 1)),
            energy=float(np.clip(source.energy + 0.5 * mood.energy, -1, 1)),
        )
    base = build_palette(
        source,
        mood_valence=spec.mood_valence,
        mood_brightness=spec.mood_brightness,
        mood_energy=spec.mood_energy,
    )
    look = ROLE_LOOKS.get(spec.role, ROLE_LOOKS["unspecified"])
    return base.shifted(look.hue, look.sat, look.val), own, video


def _grade_params(
    spec: SceneSpec, intensity: float, style: str, mood_light: float = 0.0
) -> tuple[float, float, float]:
    contrast = 0.92 + 0.33 * intensity
    saturation = 0.98 + 0.32 * intensity
    brightness = 0.88 + 0.2 * (spec.mood_brightness - 0.5) + 0.12 * intensity + 0.12 * mood_light
    if style == "vivid":
        saturation *= 1.2
    elif style == "noir":
        saturation *= 0.08
        contrast *= 1.15
    elif style == "faded":
        saturation *= 0.82
        contrast *= 0.9
    elif style == "pastel":
        saturation *= 0.95
        contrast *= 0.9
    return contrast, saturation, brightness


@dataclass(frozen=True)
class Grade:
    """contrast -> saturation -> brightness -> lift, folded into out = A*P + B*luma(P) + C*alpha.

    Every step is affine in the colour, so the grade applies to premultiplied layers directly
    (no divide by alpha) in three passes over the pixels.
    """

    A: float
    B: float
    C: float

    @staticmethod
    def make(params: tuple[float, float, float], style: str) -> Grade:
        contrast, sat, bright = params
        k0 = 0.35 * (1.0 - contrast)  # contrast pivots around 0.35
        gain, lift = (
            (0.9, 0.07) if style == "faded" else (0.9, 0.1) if style == "pastel" else (1.0, 0.0)
        )
        return Grade(
            A=bright * sat * contrast * gain,
            B=bright * (1.0 - sat) * contrast * gain,
            C=bright * k0 * gain + lift,
        )

    def apply(self, rgb: np.ndarray, alpha: np.ndarray | float = 1.0) -> np.ndarray:
        luma = rgb @ _LUMA
        luma *= self.B
        luma += alpha * self.C if isinstance(alpha, np.ndarray) else self.C
        out = rgb * self.A
        out += luma[..., None]
        return out


_LUMA = np.array([0.2126, 0.7152, 0.0722], F32)


class Grading(Protocol):
    """A colour grade for straight (alpha = 1.0) or premultiplied (alpha = HxW) colour."""

    def apply(self, rgb: np.ndarray, alpha: np.ndarray | float = 1.0) -> np.ndarray: ...


def place_characters(
    spec: SceneSpec, look: RoleLook, pal: Palette, px: float, light_side: float
) -> Layer | None:
    """The character layer: every figure at its fixed scale, standing where the role puts it."""
    if not spec.characters:
        return None
    h, w = spec.height, spec.width
    layer = Layer(h, w)
    total_w = sum(s.rgba.shape[1] for s in spec.characters) * 1.08
    x = look.character_x * w - total_w / 2
    x = min(max(x, 0.02 * w), w - total_w - 0.02 * w) if total_w < 0.96 * w else (w - total_w) / 2
    for sprite in spec.characters:
        graded = grade_character(sprite.rgba, pal, light_side)
        sh, sw = graded.shape[:2]
        paste_backlit(layer, graded, int(round(x)), int(round(h * 0.985 - sh)), pal, px)
        x += sw * 1.08
    return layer


def video_light_side(video_seed: int, video_prompt: str) -> float:
    """Which side the light comes from (-1 left, +1 right): shared by the whole video."""
    return -1.0 if stable_hash("light", video_seed, video_prompt) % 2 else 1.0


def paste_backlit(
    layer: Layer, sprite: np.ndarray, x0: int, y0: int, pal: Palette, px: float
) -> None:
    """Paste a graded RGBA sprite with its top-left at (x0, y0), clipped to the frame (it may be
    cut by the bottom or side edges), over a backlight halo in the accent colour so the figure
    sits in the scene's light."""
    h, w = layer.a.shape
    sh, sw = sprite.shape[:2]
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    dx1, dy1 = min(w, x0 + sw), min(h, y0 + sh)
    if dx1 > dx0 and dy1 > dy0:
        crop = sprite[sy0 : sy0 + dy1 - dy0, sx0 : sx0 + dx1 - dx0]
        alpha = crop[..., 3]
        halo = d.glow(alpha, 10 * px) * 0.55
        layer.paint_region(dy0, dy1, dx0, dx1, pal.accent, np.clip(halo - alpha, 0, 1))
        layer.paint_region(dy0, dy1, dx0, dx1, crop[..., :3], alpha)


# Above this long side we render at this size and upscale: the drawing is smooth (noise fields,
# glows, anti-aliased shapes), and it bounds memory (~315 MB per worker at 1920x1080 vs ~1.3 GB
# at 3840x2160).
MAX_RENDER_SIDE = 1920


def render_scene(spec: SceneSpec) -> Rendered:
    if max(spec.width, spec.height) > MAX_RENDER_SIDE:
        return _render_upscaled(spec)
    h, w = spec.height, spec.width
    pal, own, video = scene_palette(spec)
    look = ROLE_LOOKS.get(spec.role, ROLE_LOOKS["unspecified"])
    family = choose_family(own, video)
    mood = interpret(spec.mood_words)
    effects = list(dict.fromkeys(own.effects + video.effects + mood.effects[:1]))[:3]
    style = own.grade or video.grade
    intensity = float(
        np.clip(
            0.6 * spec.intensity
            + 0.25 * spec.mood_energy
            + look.intensity_bias
            + 0.12 * (own.energy or video.energy)
            + 0.08 * mood.energy,
            0.0,
            1.0,
        )
    )
    rng = np.random.default_rng(spec.seed & 0xFFFFFFFFFFFFFFFF)
    light_side = video_light_side(spec.video_seed, spec.video_prompt)
    jitter = rng.uniform(-0.05, 0.05, 2)
    ctx = Ctx(
        h=h,
        w=w,
        rng=rng,
        pal=pal,
        intensity=intensity,
        horizon=float(np.clip(look.horizon + jitter[0] * 0.5, 0.4, 0.8)),
        focal=(float(look.focal[0] + jitter[0]), float(look.focal[1] + jitter[1])),
        light_side=light_side,
        effects=effects,
        variant=spec.index,
        tags=frozenset(own.terms + video.terms),
    )
    layers = FAMILY_RENDERERS[family](ctx)
    motifs = own.motifs or video.motifs
    if family in REFLECTIVE and motifs.get("water", 0.0) >= 0.5:
        reflect_into_water(ctx, layers, REFLECTIVE[family])
    apply_effects(ctx, layers)

    grade = Grade.make(_grade_params(spec, intensity, style, mood.light), style)
    char_layer = place_characters(spec, look, pal, ctx.px, light_side)
    image, out_layers = flatten(
        ctx, layers, grade, char_layer, vignette=look.vignette, export_layers=spec.export_layers
    )
    return Rendered(image, out_layers, pal, family, effects)


def flatten(
    ctx: Ctx,
    layers: Layers,
    grade: Grading,
    char_layer: Layer | None,
    *,
    vignette: float,
    export_layers: bool,
    bloom_gain: float = 1.0,
    backlight: np.ndarray | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Grade, composite, bloom, vignette and grain: the keyframe (RGB uint8) and its layers.

    `grade` grades the scenery (characters are graded on their own); `backlight` is light
    added behind everything (to the background, before the layers cover it).
    """
    h, w, pal, intensity, rng = ctx.h, ctx.w, ctx.pal, ctx.intensity, ctx.rng
    bg = grade.apply(layers.bg)
    if backlight is not None:
        bg += backlight
    named = [("mid", layers.mid), ("foreground", layers.fg)]
    if char_layer is not None:
        named.insert(1, ("character", char_layer))
    premuls: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    flat = bg.copy()
    for name, layer in named:
        # Characters are graded on their own (grade_character); scenery gets the scene grade.
        premul = layer.rgb if name == "character" else grade.apply(layer.rgb, layer.a)
        flat *= (1.0 - layer.a)[..., None]
        flat += premul
        premuls[name] = (premul, layer.a)

    bloom, vig = _bloom_and_vignette(flat, pal, intensity, vignette, ctx.px)
    if bloom_gain != 1.0:
        bloom *= bloom_gain
    out_layers: list[np.ndarray] = []
    if export_layers:
        # Bake bloom into the background and the vignette into every layer, so a consumer that
        # composites the layers (parallax) sees the keyframe's light; only the grain is left out
        # (it should move per frame, not slide with a layer).
        vig3 = vig[..., None]
        bg += bloom
        bg *= vig3
        # Opaque: stored as RGB (a quarter fewer bytes to encode and decode).
        out_layers.append(d.to_u8(bg))
        # Message order: background, mid, foreground, character.
        for name in ("mid", "foreground", "character"):
            if name in premuls:
                premul, alpha = premuls[name]
                out_layers.append(d.straight_u8(premul * vig3, alpha))

    flat += bloom
    flat *= vig[..., None]
    # Film grain, generated at half size for a softer, more organic texture.
    gh, gw = max(2, h // 2), max(2, w // 2)
    grain = rng.standard_normal((gh, gw), dtype=F32)
    grain *= 0.012 + 0.01 * intensity
    flat += d.resize(grain, w, h)[..., None]
    return d.to_u8(flat), out_layers


def _render_upscaled(spec: SceneSpec) -> Rendered:
    k = MAX_RENDER_SIDE / max(spec.width, spec.height)
    sw, sh = max(16, round(spec.width * k)), max(16, round(spec.height * k))
    sprites = [
        Sprite(
            cv2.resize(
                s.rgba,
                (max(1, round(s.rgba.shape[1] * k)), max(1, round(s.rgba.shape[0] * k))),
                interpolation=cv2.INTER_AREA,
            )
        )
        for s in spec.characters
    ]
    small = render_scene(dataclasses.replace(spec, width=sw, height=sh, characters=sprites))
    size = (spec.width, spec.height)
    return Rendered(
        cv2.resize(small.image, size, interpolation=cv2.INTER_CUBIC),
        [cv2.resize(layer, size, interpolation=cv2.INTER_CUBIC) for layer in small.layers],
        small.palette,
        small.family,
        small.effects,
    )


def _bloom_and_vignette(
    img: np.ndarray, pal: Palette, intensity: float, vignette: float, px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bloom light (HxWx3, to add) and vignette (HxW, to multiply), both smooth, so they are
    computed at 1/8 size and upscaled."""
    h, w = img.shape[:2]
    sw, sh = max(8, w // 8), max(8, h // 8)
    small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
    bright = d.smoothstep(0.6, 1.1, small @ _LUMA)
    bloom = cv2.GaussianBlur(bright, (0, 0), sigmaX=max(1.0, 18 * px / 8))
    bloom = bloom * (0.25 + 0.35 * intensity)
    bloom_rgb = bloom[..., None] * np.asarray(d.mix(pal.light, pal.accent, 0.3), F32)
    v = d.radial(sh, sw, 0.5, 0.5) / (0.5 * np.hypot(1.0, w / h))
    vig = 1.0 - vignette * d.smoothstep(0.45, 1.15, v)
    return d.resize(bloom_rgb.astype(F32), w, h), d.resize(vig.astype(F32), w, h)
