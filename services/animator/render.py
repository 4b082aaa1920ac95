"""Frame rendering for one segment: warp keyframes, animate, transition, accent on beats.

Every visual quantity is a function of the *global* frame index (see motion.py), so a segment
rendered alone matches its neighbours at the joins. Frames are rendered as YUV 4:2:0 planes
(planes.py) with OpenCV on single-channel uint8 planes (multi-channel warps and float alpha
maths measured 3-20x slower), straight into the encoder's I420 layout.

Cost at 1280x720 (bench/animator_throughput.py): ~2.3 ms CPU per frame alone, almost all of it
the per-pixel bilinear warps (luma remap ~1.1 ms, the two chroma warps ~0.6 ms). Each plane is
warped exactly once, straight into the output frame (into the encoder's own VideoFrame in the
service), then graded in place; the flow maps reuse their buffers and are read as strided views.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from services.animator import transitions as tr
from services.animator.captions import CaptionTrack
from services.animator.instruments import (
    GLITCH_ENERGY,
    GLOW_GAIN,
    SNARE_FLASH,
    SNARE_GAIN,
    InstrumentTrack,
)
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
from services.animator.planes import (
    Planes,
    blend,
    chroma_matrix,
    grade,
    i420_buffer,
    over,
    rgb_to_planes,
    rgb_to_yuv444,
)
from services.animator.subject import pose_at, pose_switch_frames, subject_matrix, subject_pose
from services.common.images import cover_fit

# Parallax depth of the two depth planes a layered keyframe is flattened into: the far plane
# (background + mid layers) and the near plane (foreground + character layers).
FAR_DEPTH, NEAR_DEPTH = 0.6, 1.45
# The subject plane (named "character" layers) sits at the camera's focus: where it was drawn.
SUBJECT_DEPTH = 1.0
SUBJECT_LAYER = "character"
FAR_LAYERS = ("background", "mid")
_NO_FRAMES = np.zeros(0, np.int64)
FLOW_GRID = 16  # luma pixels per cell of the low-resolution flow field
N_PARTICLES = 28


@dataclass
class NearPlane:
    """A premultiplied RGBA depth plane: planes = colour x alpha, alpha at luma and chroma size.

    A near plane spread over most of the frame (rain, sparkles, petals) is rendered at half
    resolution and upsampled - a shallow depth-of-field look for the foreground at a third of the
    cost; a compact one (a character) keeps full resolution and is warped only inside its box.
    """

    planes: Planes
    alpha: np.ndarray
    alpha_half: np.ndarray
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 of non-transparent source pixels
    y_half: np.ndarray | None = None  # premultiplied luma at chroma resolution (defocused mode)
    # Where the planes' (0, 0) sits on the source canvas: a compact plane keeps only its box.
    origin: tuple[int, int] = (0, 0)

    @property
    def defocused(self) -> bool:
        return self.y_half is not None


@dataclass
class Shot:
    """One keyframe prepared for rendering, with its camera plan and start frame."""

    base: Planes  # opaque, SOURCE_SCALE x the output size
    motion: ShotMotion
    start_frame: int
    near: NearPlane | None = None
    base_depth: float = 1.0
    incoming: int = tr.CROSSFADE  # the transition that brought this keyframe in
    # The subject on its own plane (named layers): its drawn pose first, then its other poses.
    subject: list[NearPlane] = field(default_factory=list)
    anchor: tuple[float, float] = (0.0, 0.0)  # the subject's feet on the source canvas
    subject_h: float = 0.0  # its height in source pixels


def source_size(width: int, height: int) -> tuple[int, int]:
    """Even source canvas SOURCE_SCALE x the output size."""
    return 2 * round(width * SOURCE_SCALE / 2), 2 * round(height * SOURCE_SCALE / 2)


def _over_rgba(dst: np.ndarray, src: np.ndarray) -> np.ndarray:
    """Straight-alpha RGBA 'over' in float (once per keyframe, not per frame)."""
    a_s = src[..., 3:4].astype(np.float32) / 255.0
    a_d = dst[..., 3:4].astype(np.float32) / 255.0
    a_o = a_s + a_d * (1 - a_s)
    rgb = src[..., :3] * a_s + dst[..., :3] * a_d * (1 - a_s)
    rgb = np.where(a_o > 0, rgb / np.maximum(a_o, 1e-6), 0)
    return np.dstack([np.clip(rgb, 0, 255), a_o * 255]).astype(np.uint8)


def _over_opaque(dst: np.ndarray, src: np.ndarray) -> np.ndarray:
    """RGBA 'over' an opaque RGB image, only inside the layer's box (the mid layer is often a
    strip of the frame): the float version costs ~100 ms per 720p layer. Returns a new image
    (dst may be the caller's decoded keyframe)."""
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(src[..., 3]))
    if w == 0 or h == 0:
        return dst
    dst = dst.copy()
    roi = (slice(y, y + h), slice(x, x + w))
    a = src[roi][..., 3].astype(np.float32) * (1.0 / 255.0)
    dst[roi] = cv2.blendLinear(
        np.ascontiguousarray(src[roi][..., :3]), np.ascontiguousarray(dst[roi]), a, 1.0 - a
    )
    return dst


def _rgba(img: np.ndarray) -> np.ndarray:
    if img.shape[2] == 4:
        return img
    return np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])


def _near_plane(rgba: np.ndarray, compact: bool = False, defocus: bool = True) -> NearPlane | None:
    """Premultiply in YUV: P = (Y, Cb, Cr) x alpha, chroma averaged after premultiplying.

    A plane covering at most half the canvas (or `compact`: the subject and its poses) keeps
    only its box (plus a transparent margin for the bilinear warp), at full resolution: the
    per-keyframe conversion then costs in proportion to what is drawn.
    """
    alpha = np.ascontiguousarray(rgba[..., 3])
    bx, by, bw, bh = cv2.boundingRect(alpha)
    if bw == 0 or bh == 0:
        return None
    fh, fw = alpha.shape
    if compact or bw * bh <= 0.5 * fw * fh:
        cx0, cy0 = max(0, bx - 2) // 2 * 2, max(0, by - 2) // 2 * 2
        cx1 = min(fw, (bx + bw + 3) // 2 * 2)
        cy1 = min(fh, (by + bh + 3) // 2 * 2)
        crop = np.ascontiguousarray(rgba[cy0:cy1, cx0:cx1])
        plane = _near_plane_full(crop, defocus=False)
        plane.bbox = (bx, by, bx + bw, by + bh)
        plane.origin = (cx0, cy0)
        return plane
    return _near_plane_full(rgba, defocus=defocus)


def _near_plane_full(rgba: np.ndarray, defocus: bool) -> NearPlane:
    alpha = np.ascontiguousarray(rgba[..., 3])
    bx, by, bw, bh = cv2.boundingRect(alpha)
    h, w = alpha.shape
    yuv = rgb_to_yuv444(np.ascontiguousarray(rgba[..., :3]))
    premul = cv2.multiply(yuv, cv2.merge([alpha, alpha, alpha]), scale=1.0 / 255.0)
    uv = cv2.resize(premul[..., 1:], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    u, v = cv2.split(uv)
    half = cv2.resize(alpha, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    bbox = (bx, by, bx + bw, by + bh)
    y = np.ascontiguousarray(premul[..., 0])
    area = (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]) / (w * h)
    y_half = (
        cv2.resize(y, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        if defocus and area > 0.5
        else None
    )
    return NearPlane(Planes(y, u, v), alpha, half, bbox, y_half)


def prepare_shot(
    image: np.ndarray | None,
    layers: list[np.ndarray],
    width: int,
    height: int,
    motion: ShotMotion,
    start_frame: int,
    names: Sequence[str] = (),
) -> Shot:
    """Cover-fit the keyframe to the render canvas; flatten parallax layers into depth planes.

    Layers (background, mid, foreground, character) become a far plane (background + mid over the
    flat image, opaque) and a near plane (foreground + character, premultiplied with alpha): two
    warps per frame instead of four, with the parallax between them kept. When the layers are
    named (Keyframe.layer_names), the subject ("character", and "character_pose1".. in other
    poses) gets a plane of its own between the two, which moves to the beat; `image` may then be
    None when an opaque background layer covers it.
    """
    sw, sh = source_size(width, height)
    if len(names) == len(layers) and layers:
        return _prepare_named(image, layers, list(names), (sw, sh), motion, start_frame)
    if image is None:
        raise ValueError("a keyframe without named layers needs its flat image")
    flat = cover_fit(image[..., :3], sw, sh)
    if not layers:
        return Shot(rgb_to_planes(flat), motion, start_frame)
    fitted = [_rgba(cover_fit(layer, sw, sh)) for layer in layers]
    # [bg] -> far only; [bg, fg] -> 1 + 1; [bg, mid, fg(, character)] -> far = bg + mid.
    split = 2 if len(fitted) >= 3 else 1
    far = np.ascontiguousarray(flat)
    for layer in fitted[:split]:
        far = _over_opaque(far, layer)
    near_rgba: np.ndarray | None = None
    for layer in fitted[split:]:
        near_rgba = layer if near_rgba is None else _over_rgba(near_rgba, layer)
    near = _near_plane(near_rgba) if near_rgba is not None else None
    base = rgb_to_planes(far)
    return Shot(base, motion, start_frame, near=near, base_depth=FAR_DEPTH if near else 1.0)


def is_opaque(img: np.ndarray) -> bool:
    """An RGB image, or RGBA with no transparent pixel."""
    return img.ndim == 3 and (img.shape[2] == 3 or bool(img[..., 3].min() == 255))


def _prepare_named(
    image: np.ndarray | None,
    layers: list[np.ndarray],
    names: list[str],
    size: tuple[int, int],
    motion: ShotMotion,
    start_frame: int,
) -> Shot:
    sw, sh = size
    far_layers = [(n, ly) for n, ly in zip(names, layers, strict=True) if n in FAR_LAYERS]
    subject = [ly for n, ly in zip(names, layers, strict=True) if n == SUBJECT_LAYER]
    subject += [
        ly
        for n, ly in sorted(zip(names, layers, strict=True), key=lambda nl: (len(nl[0]), nl[0]))
        if n.startswith(SUBJECT_LAYER + "_pose")
    ]
    near_layers = [
        ly
        for n, ly in zip(names, layers, strict=True)
        if n not in FAR_LAYERS and not n.startswith(SUBJECT_LAYER)
    ]
    if far_layers and far_layers[0][0] == "background" and is_opaque(far_layers[0][1]):
        far = np.ascontiguousarray(cover_fit(far_layers[0][1][..., :3], sw, sh))
        far_layers = far_layers[1:]
    elif image is not None:
        far = np.ascontiguousarray(cover_fit(image[..., :3], sw, sh))
    else:
        far = np.zeros((sh, sw, 3), np.uint8)
    for _, layer in far_layers:
        far = _over_opaque(far, _rgba(cover_fit(layer, sw, sh)))
    near_rgba: np.ndarray | None = None
    for layer in near_layers:
        fitted = _rgba(cover_fit(layer, sw, sh))
        near_rgba = fitted if near_rgba is None else _over_rgba(near_rgba, fitted)
    near = _near_plane(near_rgba) if near_rgba is not None else None
    planes = [_near_plane(_rgba(cover_fit(ly, sw, sh)), compact=True) for ly in subject]
    subject_planes = [p for p in planes if p is not None]
    anchor, subject_h = (0.0, 0.0), 0.0
    if subject_planes:
        x0, y0, x1, y1 = subject_planes[0].bbox
        anchor, subject_h = ((x0 + x1) / 2, float(y1)), float(y1 - y0)
    base = rgb_to_planes(np.ascontiguousarray(far))
    layered = near is not None or bool(subject_planes)
    return Shot(
        base,
        motion,
        start_frame,
        near=near,
        base_depth=FAR_DEPTH if layered else 1.0,
        subject=subject_planes,
        anchor=anchor,
        subject_h=subject_h,
    )


@dataclass
class FlowField:
    """Slow travelling-wave displacement ('living image'), a function of musical time.

    Waves are defined in coordinates normalised by the plane width.
    """

    width: int
    height: int
    seed: str
    grid: int = FLOW_GRID
    _grid: tuple[np.ndarray, np.ndarray] = field(init=False)

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
        angle = rng.uniform(0, 2 * math.pi, 4)
        freq = rng.uniform(0.8, 2.2, 4)
        self._speed = rng.uniform(0.5, 1.2, 4) * rng.choice([-1, 1], 4)
        self._phase = rng.uniform(0, 2 * math.pi, 4)
        # The spatial part of each wave's argument never changes: compute it once.
        scale = 2 * math.pi / self.width
        self._spatial = [
            (np.cos(a) * gx + np.sin(a) * gy) * (f * scale)
            for a, f in zip(angle, freq, strict=True)
        ]
        self._dirs = [(-math.sin(a), math.cos(a)) for a in angle]
        # sin(S + T) = sin S cos T + cos S sin T: with the spatial sines and cosines precomputed,
        # each frame's displacement is one small matrix product instead of per-node sines.
        spatial = np.stack(self._spatial).reshape(4, -1)
        self._basis = np.concatenate([np.sin(spatial), np.cos(spatial)])
        self._dx = np.array([d[0] for d in self._dirs])
        self._dy = np.array([d[1] for d in self._dirs])
        self._full = (cw * g, ch * g)
        self._mx = np.empty((ch * g, cw * g), np.float32)
        self._my = np.empty((ch * g, cw * g), np.float32)

    def maps(
        self, matrix: np.ndarray, progress: float, amplitude_px: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Full-resolution remap maps: inverse affine plus the displacement, built coarse.

        Returns views into buffers this field reuses on the next call (cv2.remap reads strided
        maps directly, so the padding is cropped without a copy).
        """
        gx, gy = self._grid
        inv = cv2.invertAffineTransform(matrix).astype(np.float64)
        sx = inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2]
        sy = inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2]
        if amplitude_px > 0:
            # Sum of the four waves, each displacing across its direction (a gentle swirl
            # rather than a pulse).
            temporal = self._speed * progress + self._phase
            half_amp = amplitude_px / 2
            trig = np.concatenate([np.cos(temporal), np.sin(temporal)])
            coef = np.stack([np.tile(self._dx, 2), np.tile(self._dy, 2)]) * (half_amp * trig)
            disp = (coef @ self._basis).reshape(2, *sx.shape)
            sx += disp[0]
            sy += disp[1]
        g = self.grid
        mx = cv2.resize(
            sx.astype(np.float32), self._full, dst=self._mx, interpolation=cv2.INTER_LINEAR
        )
        my = cv2.resize(
            sy.astype(np.float32), self._full, dst=self._my, interpolation=cv2.INTER_LINEAR
        )
        crop = (slice(g, g + self.height), slice(g, g + self.width))
        return mx[crop], my[crop]


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
    flow: bool = True  # flow warp on flat keyframes (layered ones get parallax instead)
    particles: bool = True
    captions: CaptionTrack | None = None
    # Storyboard-driven rendering: instrument accents, the subject's dance, colour drift.
    director: bool = False


def _warp(
    src: np.ndarray,
    m: np.ndarray,
    size: tuple[int, int],
    border: int,
    dst: np.ndarray | None = None,
) -> np.ndarray:
    return cv2.warpAffine(src, m, size, dst=dst, flags=cv2.INTER_LINEAR, borderMode=border)


def empty_planes(width: int, height: int) -> Planes:
    return Planes(
        np.empty((height, width), np.uint8),
        np.empty((height // 2, width // 2), np.uint8),
        np.empty((height // 2, width // 2), np.uint8),
    )


def i420_planes(width: int, height: int) -> Planes:
    return i420_buffer(width, height)[1]


def _whip_side(shot: Shot) -> float:
    """Which way a whip into this shot travels (the incoming shot's own pan direction)."""
    return 1.0 if shot.motion.pan_x >= 0 else -1.0


def _motion_blur(img: Planes, length: int) -> None:
    """Horizontal motion blur of `length` luma pixels, in place (a box filter: cost does not
    grow with the length)."""
    if length < 3:
        return
    cv2.blur(img.y, (length, 1), dst=img.y, borderType=cv2.BORDER_REFLECT)
    half = max(1, length // 2)
    cv2.blur(img.u, (half, 1), dst=img.u, borderType=cv2.BORDER_REFLECT)
    cv2.blur(img.v, (half, 1), dst=img.v, borderType=cv2.BORDER_REFLECT)


# Allocates the planes of one output frame (e.g. straight inside the encoder's frame).
FrameAlloc = Callable[[int, int], Planes]


class SegmentRenderer:
    """Renders a plan's frames. Every frame is written straight into the planes `alloc` returns
    (the encoder's own frame memory in the service), with no intermediate full-frame copies."""

    def __init__(self, plan: SegmentPlan, alloc: FrameAlloc = i420_planes) -> None:
        self.plan = plan
        self.alloc = alloc
        self._scratch: Planes | None = None  # second image of a transition, reused
        self.beat_frames = beat_frames(plan.music.beat_times, plan.fps)
        self.flow = FlowField(plan.width, plan.height, plan.seed) if plan.flow else None
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
        # Plain floats: per-particle maths on numpy scalars cost more than drawing the specks.
        self._particle_rows = [tuple(float(v) for v in row) for row in self._particles]
        self.instruments = (
            InstrumentTrack(plan.music, plan.fps, plan.seed) if plan.director else None
        )
        # Pose switches of each shot with pose layers, for the frames it can be on screen.
        end_t = plan.end / plan.fps
        self._pose_frames: dict[int, np.ndarray] = {}
        for shot in (plan.from_shot, plan.to_shot):
            if shot is not None and len(shot.subject) > 1:
                start_t = shot.motion.start_time
                self._pose_frames[id(shot)] = pose_switch_frames(
                    plan.music, start_t, end_t, plan.fps
                )

    # -- pieces -------------------------------------------------------------------------------

    def _warp_base(
        self, shot: Shot, m: np.ndarray, progress: float, energy: float, dst: Planes
    ) -> Planes:
        """Camera (+ flow) warp of the keyframe, one pass per plane, written into dst."""
        p = self.plan
        size, half = (p.width, p.height), (p.width // 2, p.height // 2)
        mc = chroma_matrix(m)
        src = shot.base
        reflect = cv2.BORDER_REFLECT
        if self.flow is not None and shot.near is None and not shot.subject:
            # Camera and flow fused into one remap of luma. The flow moves luma by at most
            # ~0.25 % of the width, i.e. under one chroma sample, so chroma takes the plain
            # affine warp: half the cost of remapping every plane.
            amp = p.width * (0.001 + 0.0015 * energy)
            mx, my = self.flow.maps(m, progress, amp)
            cv2.remap(src.y, mx, my, cv2.INTER_LINEAR, dst=dst.y, borderMode=reflect)
        else:
            _warp(src.y, m, size, reflect, dst.y)
        _warp(src.u, mc, half, reflect, dst.u)
        _warp(src.v, mc, half, reflect, dst.v)
        return dst

    def _over_near(
        self,
        out: Planes,
        near: NearPlane,
        m: np.ndarray,
    ) -> tuple[int, int, int, int] | None:
        """Warp the premultiplied near plane (only its bounding box) and composite it.
        Returns the output box it touched."""
        p = self.plan
        if near.origin != (0, 0):
            # The planes hold only the box: their (0, 0) is `origin` on the source canvas.
            m = m.copy()
            m[:, 2] += m[:, :2] @ np.asarray(near.origin, np.float32)
            x0, y0, x1, y1 = near.bbox
            ox, oy = near.origin
            near_box = (x0 - ox, y0 - oy, x1 - ox, y1 - oy)
        else:
            near_box = near.bbox
        x0, y0, x1, y1 = near_box
        corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], np.float64)
        pts = corners @ m.T.astype(np.float64)
        ox0 = max(0, int(math.floor(pts[:, 0].min())) - 2) // 2 * 2
        oy0 = max(0, int(math.floor(pts[:, 1].min())) - 2) // 2 * 2
        ox1 = min(p.width, int(math.ceil(pts[:, 0].max())) + 2)
        oy1 = min(p.height, int(math.ceil(pts[:, 1].max())) + 2)
        ox1 += ox1 % 2
        oy1 += oy1 % 2
        ox1, oy1 = min(ox1, p.width), min(oy1, p.height)
        if ox1 <= ox0 or oy1 <= oy0:
            return None
        # Same matrix, output origin moved to the box corner.
        mr = m.copy()
        mr[0, 2] -= ox0
        mr[1, 2] -= oy0
        mc = chroma_matrix(mr)
        size, half = (ox1 - ox0, oy1 - oy0), ((ox1 - ox0) // 2, (oy1 - oy0) // 2)
        const = cv2.BORDER_CONSTANT
        ah = _warp(near.alpha_half, mc, half, const)
        u, v = _warp(near.planes.u, mc, half, const), _warp(near.planes.v, mc, half, const)
        if near.y_half is not None:
            # Same linear upsampling for colour x alpha and alpha keeps them consistent.
            y = cv2.resize(
                _warp(near.y_half, mc, half, const), size, interpolation=cv2.INTER_LINEAR
            )
            a = cv2.resize(ah, size, interpolation=cv2.INTER_LINEAR)
        else:
            y, a = _warp(near.planes.y, mr, size, const), _warp(near.alpha, mr, size, const)
        fg = Planes(y, u, v)
        cx0, cy0, cx1, cy1 = ox0 // 2, oy0 // 2, ox0 // 2 + half[0], oy0 // 2 + half[1]
        roi = Planes(out.y[oy0:oy1, ox0:ox1], out.u[cy0:cy1, cx0:cx1], out.v[cy0:cy1, cx0:cx1])
        done = over(roi, fg, a, ah)
        roi.y[:] = done.y
        roi.u[:] = done.u
        roi.v[:] = done.v
        return ox0, oy0, ox1, oy1

    def shot_image(
        self,
        shot: Shot,
        frame: int,
        extra_zoom: float = 1.0,
        shift_x: float = 0.0,
        dst: Planes | None = None,
        shift_y: float = 0.0,
    ) -> Planes:
        """One keyframe through the camera at global frame k (with parallax when layered),
        written into dst (fresh planes when None)."""
        p = self.plan
        if dst is None:
            dst = empty_planes(p.width, p.height)
        t = frame / p.fps
        pose = shot_pose(shot.motion, t, p.music, p.seed)
        if extra_zoom != 1.0 or shift_y:
            pose = Pose(pose.zoom * extra_zoom, pose.pan_x, pose.pan_y + shift_y, pose.rotation_deg)
        progress = p.music.progress(t)
        energy = p.music.intensity.at(t)
        sh, sw = shot.base.y.shape
        mo = shot.motion
        base_depth = mo.depth(shot.base_depth)
        lp = pose.scaled(base_depth) if base_depth != 1.0 else pose
        m = affine_matrix(lp, p.width, p.height, sw, sh, shift_x)
        out = self._warp_base(shot, m, progress, energy, dst)
        if shot.subject:
            ms = affine_matrix(
                pose.scaled(mo.depth(SUBJECT_DEPTH)), p.width, p.height, sw, sh, shift_x
            )
            accent = beat_accent(frame, p.fps, p.music, self.beat_frames)
            spose = subject_pose(p.music, t, accent, mo.subject_amp)
            ms = subject_matrix(ms, shot.anchor, shot.subject_h, spose)
            which = pose_at(self._pose_frames.get(id(shot), _NO_FRAMES), frame, len(shot.subject))
            # The seeder composites the subject over the mid layer and under the foreground
            # (scene.flatten): far (background + mid), subject, near (foreground).
            self._over_near(out, shot.subject[which], ms)
        if shot.near is not None:
            mn = affine_matrix(
                pose.scaled(mo.depth(NEAR_DEPTH)), p.width, p.height, sw, sh, shift_x
            )
            self._over_near(out, shot.near, mn)
        return out

    def _draw_particles(self, img: Planes, frame: int, accent: float, share: float = 1.0) -> None:
        p = self.plan
        t = frame / p.fps
        prog = p.music.progress(t)
        energy = p.music.intensity.at(t)
        sparkle = p.music.high.at(t)
        scale = min(p.width, p.height) / 720
        rows = self._particle_rows
        if share < 1.0:
            rows = rows[: max(1, int(round(share * len(rows))))]
        for x0, y0, vx, vy, r, ph in rows:
            x = (x0 + vx * prog) % 1.0
            y = (y0 + vy * prog) % 1.0
            twinkle = 0.5 + 0.5 * math.sin(3.0 * prog + ph)
            level = 0.3 + 0.3 * twinkle + 0.2 * sparkle + 0.2 * accent
            radius = max(1, int(round(r * scale * (1.0 + 0.5 * energy))))
            cx, cy = int(x * p.width), int(y * p.height)
            # Luma only: the specks are a few pixels wide, below chroma resolution.
            cv2.circle(img.y, (cx, cy), radius, int(min(235, 120 + 115 * level)), -1, cv2.LINE_AA)

    # -- one frame ----------------------------------------------------------------------------

    def _second(self) -> Planes:
        """Scratch planes for the other image of a transition (never handed out)."""
        if self._scratch is None:
            self._scratch = empty_planes(self.plan.width, self.plan.height)
        return self._scratch

    def frame(self, k: int) -> Planes:
        """Global frame k, rendered into fresh planes from `alloc` (by default views into an
        I420 buffer, `.buf`). The image is warped straight into them and graded in place."""
        p = self.plan
        t = k / p.fps
        accent = beat_accent(k, p.fps, p.music, self.beat_frames)
        low = p.music.low.at(t)
        to = p.to_shot
        shot = to if (to is not None and k >= p.landing_frame) else p.from_shot
        punch = 1.0 + (0.02 + 0.03 * low) * accent * shot.motion.punch
        white = 0.0  # flash overlay 0..1
        inst = self.instruments
        shake_x, shake_y = inst.shake(k, accent) if inst is not None else (0.0, 0.0)
        out = self.alloc(p.width, p.height)

        n = p.transition.frames
        kind = p.transition.kind
        if to is not None and k >= p.landing_frame:
            self._show(to, k, punch, shake_x, shake_y, out)
        elif to is not None and k >= p.landing_frame - n:
            x = (k - (p.landing_frame - n) + 1) / (n + 1)  # -> 1 on the landing frame
            e = smoothstep(x)
            if kind == tr.ZOOM_THROUGH:
                a = self.shot_image(p.from_shot, k, punch * (1.0 + 0.8 * e * e), 0.0, dst=out)
                b = self.shot_image(to, k, punch * (1.0 + 0.35 * (1.0 - e)), 0.0, self._second())
                blend(a, b, e, dst=out)
            elif kind == tr.SLIDE:
                e = ease_in_out(x)
                a = self.shot_image(p.from_shot, k, punch, -e, dst=out)
                b = self.shot_image(to, k, punch, 1.0 - e, self._second())
                split = 2 * int(round((1.0 - e) * p.width / 2))
                a.y[:, split:] = b.y[:, split:]
                a.u[:, split // 2 :] = b.u[:, split // 2 :]
                a.v[:, split // 2 :] = b.v[:, split // 2 :]
            elif kind == tr.FLASH_CUT:
                self.shot_image(p.from_shot, k, punch, 0.0, dst=out)
                white = 0.5 * x
            elif kind == tr.WHIP:
                # The outgoing shot whips away, ever faster and more blurred; the cut to the
                # incoming one is on the landing frame (on the beat), where it settles.
                side = _whip_side(to)
                self.shot_image(p.from_shot, k, punch, -side * 0.45 * x * x, dst=out)
                _motion_blur(out, int(0.14 * p.width * x))
            else:
                a = self.shot_image(p.from_shot, k, punch, 0.0, dst=out)
                b = self.shot_image(to, k, punch, 0.0, self._second())
                blend(a, b, e, dst=out)
        else:
            self._show(p.from_shot, k, punch, shake_x, shake_y, out)

        if shot.incoming == tr.FLASH_CUT and k >= shot.start_frame:
            since_s = (k - shot.start_frame) / p.fps
            white = max(white, 0.85 * math.exp(-since_s / shot.motion.flash_decay_s))

        # The beat lifts the lights (gain) more than the blacks (lift): blacks lifted on every
        # beat turn a night scene milky.
        gain, lift, sat = 1.0 + 0.3 * accent, 1.5 * accent, 1.0 + 0.25 * accent
        tint = (0.0, 0.0)
        if inst is not None:
            hit = inst.snare(k)
            if hit > 0:
                if shot.motion.energy >= GLITCH_ENERGY:
                    inst.glitch(out, k, hit)
                else:
                    # A flash of the lights (gain: dark stays dark) with a touch of white.
                    gain += SNARE_GAIN * hit
                    white = max(white, SNARE_FLASH * hit)
            drift = inst.drift(t, shot.motion.cast)
            tint = (drift.du * shot.motion.colour_drift, drift.dv * shot.motion.colour_drift)
            gain += drift.glow
            sat += 0.1 * drift.glow / GLOW_GAIN

        if p.particles:
            share = inst.particles_shown(t) if inst is not None else 1.0
            self._draw_particles(out, k, accent, share)

        fade = 1.0
        if p.fade_out_frames and to is None:
            left = p.end - k
            if left <= p.fade_out_frames:
                fade = ease_in_out(left / (p.fade_out_frames + 1))
        grade(
            out,
            out,
            gain=gain,
            lift=lift,
            white=white,
            fade=fade,
            saturation=sat,  # colour pulse on the beat
            tint=tint,
        )
        if p.captions is not None:
            p.captions.draw(out, t)
        return out

    def _show(
        self, shot: Shot, k: int, punch: float, shake_x: float, shake_y: float, out: Planes
    ) -> None:
        """A shot on its own (no transition running), settling after a whip into it."""
        since = k - shot.start_frame
        settle = max(1, int(round(tr.WHIP_SETTLE_S * self.plan.fps)))
        if shot.incoming == tr.WHIP and 0 <= since < settle:
            y = 1.0 - since / settle
            self.shot_image(shot, k, punch, _whip_side(shot) * 0.2 * y * y, out, shake_y)
            _motion_blur(out, int(0.08 * self.plan.width * y))
            return
        self.shot_image(shot, k, punch, shake_x, out, shake_y)

    def frames(self) -> Iterator[Planes]:
        for k in range(self.plan.start, self.plan.end):
            yield self.frame(k)
