"""Frame rendering for one segment: warp keyframes, animate, transition, accent on beats.

Every visual quantity is a function of the *global* frame index (see motion.py), so a segment
rendered alone matches its neighbours at the joins. Frames are rendered as YUV 4:2:0 planes
(planes.py) with OpenCV: warps, blends and grading run on uint8 planes at the encoder's own
resolution per plane, an order of magnitude faster than Pillow and half the work of RGB.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from services.animator import transitions as tr
from services.animator.captions import CaptionTrack
from services.animator.images import cover_fit
from services.animator.motion import (
    SOURCE_SCALE,
    Pose,
    ShotMotion,
    affine_matrix,
    beat_accent,
    beat_frames,
    ease_in_out,
    shot_pose,
    smoothstep,
    stable_rng,
)
from services.animator.music import Music
from services.animator.planes import Planes, blend, chroma_matrix, grade, rgb_to_planes

# Parallax depth by layer position (background, mid, foreground, character).
LAYER_DEPTHS = (0.55, 1.0, 1.5, 1.3)
FLOW_GRID = 16  # luma pixels per cell of the low-resolution flow field
N_PARTICLES = 28


@dataclass
class Layer:
    """A keyframe layer at SOURCE_SCALE x the output size, as planes (+ alpha when not opaque)."""

    planes: Planes
    depth: float
    alpha: np.ndarray | None = None  # (sh, sw) uint8
    alpha_half: np.ndarray | None = None  # (sh/2, sw/2) uint8

    @property
    def ya(self) -> np.ndarray:
        """Luma and alpha interleaved, so one warp moves both."""
        assert self.alpha is not None
        return np.dstack([self.planes.y, self.alpha])

    @property
    def uva(self) -> np.ndarray:
        assert self.alpha_half is not None
        return np.dstack([self.planes.uv, self.alpha_half])


@dataclass
class Shot:
    """One keyframe prepared for rendering, with its camera plan and start frame."""

    layers: list[Layer]
    motion: ShotMotion
    start_frame: int
    incoming: int = tr.CROSSFADE  # the transition that brought this keyframe in
    _packed: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def packed(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per alpha layer (Y+alpha, UV+alpha) arrays, built once."""
        if not self._packed:
            self._packed = [(lay.ya, lay.uva) for lay in self.layers[1:]]
        return self._packed


def source_size(width: int, height: int) -> tuple[int, int]:
    """Even source canvas SOURCE_SCALE x the output size."""
    return 2 * round(width * SOURCE_SCALE / 2), 2 * round(height * SOURCE_SCALE / 2)


def _layer_from_rgba(rgba: np.ndarray, depth: float) -> Layer:
    planes = rgb_to_planes(np.ascontiguousarray(rgba[..., :3]))
    alpha = np.ascontiguousarray(rgba[..., 3])
    h, w = alpha.shape
    half = cv2.resize(alpha, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return Layer(planes, depth, alpha, half)


def prepare_layers(
    image: np.ndarray, layers: list[np.ndarray], width: int, height: int
) -> list[Layer]:
    """Cover-fit the flat image (and optional RGBA parallax layers) to the render canvas."""
    sw, sh = source_size(width, height)
    if not layers:
        return [Layer(rgb_to_planes(cover_fit(image[..., :3], sw, sh)), 1.0)]
    out: list[Layer] = []
    first = cover_fit(layers[0], sw, sh)
    if first.shape[2] == 3 or int(first[..., 3].min()) >= 250:
        out.append(Layer(rgb_to_planes(np.ascontiguousarray(first[..., :3])), LAYER_DEPTHS[0]))
    else:
        # The background layer has holes: put it over the flat image.
        out.append(Layer(rgb_to_planes(cover_fit(image[..., :3], sw, sh)), LAYER_DEPTHS[0]))
        out.append(_layer_from_rgba(first, LAYER_DEPTHS[0]))
    for i, layer in enumerate(layers[1:], start=1):
        fitted = cover_fit(layer, sw, sh)
        if fitted.shape[2] == 3:
            fitted = np.dstack([fitted, np.full(fitted.shape[:2], 255, np.uint8)])
        out.append(_layer_from_rgba(fitted, LAYER_DEPTHS[min(i, len(LAYER_DEPTHS) - 1)]))
    return out


@dataclass
class FlowField:
    """Slow travelling-wave displacement ('living image'), a function of musical time.

    Waves are defined in coordinates normalised by the plane width, so the luma and chroma
    fields (one instance each) describe the same motion.
    """

    width: int
    height: int
    seed: str
    grid: int = FLOW_GRID
    _grid: tuple[np.ndarray, np.ndarray] = field(init=False)
    _waves: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        g = self.grid
        cw = math.ceil((self.width + 2 * g) / g)
        ch = math.ceil((self.height + 2 * g) / g)
        # Coarse node j sits where cv2.resize samples it: x = -pad + (j + 0.5) * g - 0.5.
        xs = -g + (np.arange(cw) + 0.5) * g - 0.5
        ys = -g + (np.arange(ch) + 0.5) * g - 0.5
        gx, gy = np.meshgrid(xs, ys)
        self._grid = (gx, gy)
        rng = stable_rng(self.seed, "flow")
        # 4 waves: direction angle, spatial frequency (cycles per width), speed, phase.
        self._waves = np.stack(
            [
                rng.uniform(0, 2 * math.pi, 4),
                rng.uniform(0.8, 2.2, 4),
                rng.uniform(0.5, 1.2, 4) * rng.choice([-1, 1], 4),
                rng.uniform(0, 2 * math.pi, 4),
            ],
            axis=1,
        )

    def maps(
        self, matrix: np.ndarray, progress: float, amplitude_px: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Full-resolution remap maps: inverse affine plus the displacement, built coarse."""
        gx, gy = self._grid
        inv = cv2.invertAffineTransform(matrix).astype(np.float64)
        sx = inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2]
        sy = inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2]
        if amplitude_px > 0:
            scale = 2 * math.pi / self.width
            for angle, freq, speed, phase in self._waves:
                ca, sa = math.cos(angle), math.sin(angle)
                arg = (ca * gx + sa * gy) * (freq * scale) + (speed * progress + phase)
                wave = np.sin(arg) * (amplitude_px / 2)
                # Displace across the wave direction: a gentle swirl rather than a pulse.
                sx -= sa * wave
                sy += ca * wave
        g = self.grid
        full = (gx.shape[1] * g, gx.shape[0] * g)
        mx = cv2.resize(sx.astype(np.float32), full, interpolation=cv2.INTER_LINEAR)
        my = cv2.resize(sy.astype(np.float32), full, interpolation=cv2.INTER_LINEAR)
        return (
            np.ascontiguousarray(mx[g : g + self.height, g : g + self.width]),
            np.ascontiguousarray(my[g : g + self.height, g : g + self.width]),
        )


@dataclass
class SegmentPlan:
    width: int
    height: int
    fps: int
    start: int
    end: int
    seed: str  # shared by every segment of the video (noise, sway, particles stay continuous)
    music: Music
    from_shot: Shot
    to_shot: Shot | None
    landing_frame: int  # global frame that first shows to_shot fully
    transition: tr.TransitionPlan
    fade_out_frames: int = 0  # last segment: fade to black over this many frames at the end
    flow: bool = True
    particles: bool = True
    captions: CaptionTrack | None = None


class SegmentRenderer:
    def __init__(self, plan: SegmentPlan) -> None:
        self.plan = plan
        self.beat_frames = beat_frames(plan.music.beat_times, plan.fps)
        self.flow_y: FlowField | None = None
        self.flow_c: FlowField | None = None
        if plan.flow:
            self.flow_y = FlowField(plan.width, plan.height, plan.seed, FLOW_GRID)
            self.flow_c = FlowField(plan.width // 2, plan.height // 2, plan.seed, FLOW_GRID // 2)
        rng = stable_rng(plan.seed, "particles")
        n = N_PARTICLES
        self._particles = np.stack(
            [
                rng.uniform(0, 1, n),  # x0
                rng.uniform(0, 1, n),  # y0
                rng.uniform(-0.015, 0.015, n),  # vx per unit of musical time
                rng.uniform(-0.03, -0.008, n),  # vy (drift upwards)
                rng.uniform(0.8, 2.2, n),  # radius at 720p
                rng.uniform(0, 2 * math.pi, n),  # twinkle phase
            ],
            axis=1,
        )

    # -- pieces -------------------------------------------------------------------------------

    def _warp_base(self, layer: Layer, m: np.ndarray, progress: float, energy: float) -> Planes:
        p = self.plan
        size, half = (p.width, p.height), (p.width // 2, p.height // 2)
        mc = chroma_matrix(m)
        if self.flow_y is not None and self.flow_c is not None:
            amp = p.width * (0.0015 + 0.003 * energy)
            my_x, my_y = self.flow_y.maps(m, progress, amp)
            mc_x, mc_y = self.flow_c.maps(mc, progress, amp / 2)
            y = cv2.remap(
                layer.planes.y, my_x, my_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
            )
            uv = cv2.remap(
                layer.planes.uv, mc_x, mc_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
            )
            return Planes(y, uv)
        y = cv2.warpAffine(
            layer.planes.y, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        uv = cv2.warpAffine(
            layer.planes.uv, mc, half, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        return Planes(y, uv)

    def _shot_image(self, shot: Shot, frame: int, extra_zoom: float, shift_x: float) -> Planes:
        p = self.plan
        t = frame / p.fps
        pose = shot_pose(shot.motion, t, p.music, p.seed)
        if extra_zoom != 1.0:
            pose = Pose(pose.zoom * extra_zoom, pose.pan_x, pose.pan_y, pose.rotation_deg)
        progress = p.music.progress(t)
        energy = p.music.intensity.at(t)
        base = shot.layers[0]
        sh, sw = base.planes.y.shape
        lp = pose.scaled(base.depth) if base.depth != 1.0 else pose
        out = self._warp_base(
            base, affine_matrix(lp, p.width, p.height, sw, sh, shift_x), progress, energy
        )
        size, half = (p.width, p.height), (p.width // 2, p.height // 2)
        for layer, (ya, uva) in zip(shot.layers[1:], shot.packed(), strict=True):
            m = affine_matrix(pose.scaled(layer.depth), p.width, p.height, sw, sh, shift_x)
            wy = cv2.warpAffine(ya, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            wc = cv2.warpAffine(
                uva, chroma_matrix(m), half, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
            )
            a = wy[..., 1].astype(np.float32) * (1.0 / 255.0)
            ac = wc[..., 2].astype(np.float32) * (1.0 / 255.0)
            out = Planes(
                cv2.blendLinear(np.ascontiguousarray(wy[..., 0]), out.y, a, 1.0 - a),
                cv2.blendLinear(np.ascontiguousarray(wc[..., :2]), out.uv, ac, 1.0 - ac),
            )
        return out

    def _draw_particles(self, img: Planes, frame: int, accent: float) -> None:
        p = self.plan
        t = frame / p.fps
        prog = p.music.progress(t)
        energy = p.music.intensity.at(t)
        sparkle = p.music.high.at(t)
        scale = min(p.width, p.height) / 720
        for x0, y0, vx, vy, r, ph in self._particles:
            x = (x0 + vx * prog) % 1.0
            y = (y0 + vy * prog) % 1.0
            twinkle = 0.5 + 0.5 * math.sin(3.0 * prog + ph)
            level = 0.3 + 0.3 * twinkle + 0.2 * sparkle + 0.2 * accent
            radius = max(1, int(round(r * scale * (1.0 + 0.5 * energy))))
            cx, cy = int(x * p.width), int(y * p.height)
            cv2.circle(img.y, (cx, cy), radius, int(min(235, 120 + 115 * level)), -1, cv2.LINE_AA)
            # Warm tint in chroma (Cb slightly below, Cr slightly above neutral).
            cv2.circle(img.uv, (cx // 2, cy // 2), max(1, radius // 2), (118, 136), -1)

    # -- one frame ----------------------------------------------------------------------------

    def frame(self, k: int) -> Planes:
        p = self.plan
        t = k / p.fps
        accent = beat_accent(k, p.fps, p.music, self.beat_frames)
        low = p.music.low.at(t)
        punch = 1.0 + (0.02 + 0.03 * low) * accent
        white = 0.0  # flash overlay 0..1

        to = p.to_shot
        n = p.transition.frames
        kind = p.transition.kind
        if to is not None and k >= p.landing_frame:
            img = self._shot_image(to, k, punch, 0.0)
        elif to is not None and k >= p.landing_frame - n:
            x = (k - (p.landing_frame - n) + 1) / (n + 1)  # -> 1 on the landing frame
            e = smoothstep(x)
            if kind == tr.ZOOM_THROUGH:
                a = self._shot_image(p.from_shot, k, punch * (1.0 + 0.8 * e * e), 0.0)
                b = self._shot_image(to, k, punch * (1.0 + 0.35 * (1.0 - e)), 0.0)
                img = blend(a, b, e)
            elif kind == tr.SLIDE:
                e = ease_in_out(x)
                a = self._shot_image(p.from_shot, k, punch, -e)
                b = self._shot_image(to, k, punch, 1.0 - e)
                split = 2 * int(round((1.0 - e) * p.width / 2))
                a.y[:, split:] = b.y[:, split:]
                a.uv[:, split // 2 :] = b.uv[:, split // 2 :]
                img = a
            elif kind == tr.FLASH_CUT:
                img = self._shot_image(p.from_shot, k, punch, 0.0)
                white = 0.5 * x
            else:
                a = self._shot_image(p.from_shot, k, punch, 0.0)
                b = self._shot_image(to, k, punch, 0.0)
                img = blend(a, b, e)
        else:
            img = self._shot_image(p.from_shot, k, punch, 0.0)

        shot = to if (to is not None and k >= p.landing_frame) else p.from_shot
        if shot.incoming == tr.FLASH_CUT and k >= shot.start_frame:
            white = max(white, 0.85 * math.exp(-(k - shot.start_frame) / p.fps / tr.FLASH_DECAY_S))

        if p.particles:
            self._draw_particles(img, k, accent)

        fade = 1.0
        if p.fade_out_frames and to is None:
            left = p.end - k
            if left <= p.fade_out_frames:
                fade = ease_in_out(left / (p.fade_out_frames + 1))
        img = grade(
            img,
            gain=1.0 + 0.22 * accent,
            lift=6.0 * accent,
            white=white,
            fade=fade,
            saturation=1.0 + 0.25 * accent,  # colour pulse on the beat
        )
        if p.captions is not None:
            p.captions.draw(img, t)
        return img

    def frames(self) -> Iterator[Planes]:
        for k in range(self.plan.start, self.plan.end):
            yield self.frame(k)
