"""Procedural figures: a dancer, a singer, a woman, a man, a child, a robot, an astronaut, a band.

A figure is a stick skeleton posed by joint angles and fleshed out as an anti-aliased silhouette
(thick round-capped limbs, a torso polygon, a head), plus what makes it recognisable at a
glance: a skirt and bun for the dancer, a microphone, long hair and a dress, a boxy head with a
glowing visor, a helmet and backpack, guitars and a drum kit for the band. It is drawn dark with
a rim light and halo in the palette's accent (backlit, the music-video look), on its own layer.

Geometry is in figure units: x right, y up, feet on y = 0, the head's top near y = 1. Each kind
has several poses (`POSES[kind]`) so a figure can change pose on the beat.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import cv2
import numpy as np

from services.common.scene_vocabulary import (
    FIGURE_HINTS,
    FIGURE_KINDS,
    FIGURE_PLURALS,
    FIGURE_WORDS,
)
from services.seeder import drawing as d
from services.seeder.drawing import F32, Layer
from services.seeder.palette import RGB, Palette

# Figure kinds, and the prompt words that name them (the shared table; first match wins).
KINDS = FIGURE_KINDS
_WORD_RE = re.compile(r"[a-z]+")


def figure_kind(word: str) -> str:
    """The kind drawn for one word ("dancers" -> "dancer", "guitarist" -> "band"), or ""."""
    word = word.lower()
    if word in KINDS:
        return word
    if word in FIGURE_HINTS:
        return FIGURE_HINTS[word]
    word = FIGURE_PLURALS.get(word, word)
    for cand in (word, word.removesuffix("s"), word.removesuffix("es")):
        if FIGURE_WORDS.get(cand):
            return FIGURE_WORDS[cand]
    return ""


def subject_in(prompt: str) -> str:
    """The figure a prompt names ("a lone dancer" -> "dancer"), or "" when it names none."""
    for tok in _WORD_RE.findall(prompt.lower()):
        if kind := figure_kind(tok):
            return kind
    return ""


@dataclass(frozen=True)
class Pose:
    """Absolute segment angles in degrees: 0 points down, +90 to the figure's right (+x)."""

    l_arm: tuple[float, float] = (-15, -10)  # upper arm, forearm
    r_arm: tuple[float, float] = (15, 10)
    l_leg: tuple[float, float] = (-6, -4)  # thigh, shin
    r_leg: tuple[float, float] = (6, 4)
    lean: float = 0.0  # torso lean, + to the right
    lift: float = 0.0  # jump height in figure units
    prop: str = ""  # "mic", "mic_stand", "guitar", "bass", "drums", "keys"


@dataclass(frozen=True)
class Build:
    """Body proportions in figure units."""

    head: float = 0.062
    shoulder: float = 0.1
    hip: float = 0.055
    torso: float = 0.3
    upper_arm: float = 0.16
    forearm: float = 0.15
    thigh: float = 0.25
    shin: float = 0.24
    limb: float = 0.042  # arm thickness; legs are 1.5x
    skirt: float = 0.0  # skirt length (0: none)
    flare: float = 0.0  # skirt half-width at the hem
    hair: str = ""  # "bun", "long", "short", "ponytail"
    boxy: bool = False  # robot
    helmet: bool = False  # astronaut
    extras: tuple[str, ...] = field(default_factory=tuple)


BUILDS: dict[str, Build] = {
    "dancer": Build(skirt=0.13, flare=0.13, hair="bun", limb=0.036, shoulder=0.09),
    "singer": Build(hair="long", limb=0.04, skirt=0.0),
    "woman": Build(hair="long", skirt=0.22, flare=0.11, shoulder=0.092, limb=0.038),
    "man": Build(hair="short", shoulder=0.115, hip=0.062, limb=0.048),
    "child": Build(
        head=0.085, torso=0.25, upper_arm=0.13, forearm=0.12, thigh=0.2, shin=0.19, hair="short"
    ),
    "robot": Build(boxy=True, shoulder=0.12, hip=0.07, limb=0.05, extras=("antenna",)),
    "astronaut": Build(helmet=True, head=0.085, shoulder=0.125, hip=0.075, limb=0.068),
}

_STAND = Pose()
POSES: dict[str, tuple[Pose, ...]] = {
    "dancer": (
        Pose((-160, -175), (160, 175), (-4, -2), (8, 4), lean=-4),  # arms up, on the toes
        Pose((-100, -95), (120, 150), (-3, -3), (100, 95), lean=-18),  # arabesque
        Pose((-140, -170), (70, 30), (-70, -80), (60, 20), lift=0.12),  # leap
        Pose((-120, -160), (110, 150), (-5, -2), (40, -20), lean=6),  # spin, knee up
        Pose((-80, -70), (95, 100), (-45, -10), (35, 35), lean=-10),  # lunge, arms wide
    ),
    "singer": (
        Pose((-25, -150), (70, 60), prop="mic"),  # mic to the mouth, arm out
        Pose((-30, -140), (130, 160), prop="mic", lean=-10),  # mic, fist raised
        Pose((-20, -150), (20, -150), prop="mic_stand"),  # both hands at the stand
        Pose((-30, -145), (80, 110), (-10, -6), (12, 6), lean=-16, prop="mic"),  # leaning back
    ),
    "woman": (
        _STAND,
        Pose((20, 10), (-20, -25), (-18, -10), (14, 6)),  # walking
        Pose((-150, -170), (150, 170)),  # arms raised
        Pose((-40, 30), (150, 175), (-10, -4), (8, 3), lean=5),  # hand on hip, arm up
    ),
    "man": (
        Pose((-10, -8), (10, 8), (-8, -5), (8, 5)),
        Pose((20, 15), (-22, -18), (-20, -12), (16, 8)),  # walking
        Pose((-12, -8), (95, 95), (-8, -5), (8, 5)),  # pointing
        Pose((-135, -160), (135, 160), (-14, -8), (14, 8)),  # arms up, wide stance
    ),
    "child": (
        Pose((-140, -150), (140, 150), (-30, -25), (30, 25), lift=0.15),  # star jump
        Pose((40, 100), (-40, -100), (-35, 10), (30, 60), lean=10),  # running
        Pose((-10, -5), (150, 170)),  # waving
        Pose((-60, -40), (60, 40), (-10, -5), (10, 5)),
    ),
    "robot": (
        Pose((-30, 60), (30, -60), (-8, -8), (8, 8)),  # robot dance, forearms bent
        Pose((-90, -180), (90, 0), (-8, -8), (8, 8)),  # the wave
        Pose((-90, -90), (90, 90), (-15, -15), (15, 15)),  # arms straight out
        Pose((-150, -180), (40, 110), (-8, -8), (30, -10), lean=5),
    ),
    "astronaut": (
        Pose((-60, -90), (60, 90), (-30, 20), (20, 60), lift=0.1, lean=10),  # floating
        Pose((-20, -15), (150, 170), (-8, -6), (8, 6)),  # waving
        Pose((-110, -120), (40, 40), (-5, -5), (25, 40), lean=-12),  # reaching
        Pose((-100, -100), (100, 100), (-40, -10), (40, 10), lift=0.18),  # spread, drifting
    ),
}


@dataclass(frozen=True)
class Joints:
    head: np.ndarray
    neck: np.ndarray
    shoulders: tuple[np.ndarray, np.ndarray]
    hips: tuple[np.ndarray, np.ndarray]
    elbows: tuple[np.ndarray, np.ndarray]
    hands: tuple[np.ndarray, np.ndarray]
    knees: tuple[np.ndarray, np.ndarray]
    feet: tuple[np.ndarray, np.ndarray]


def _dir(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([math.sin(a), -math.cos(a)])


def pose_joints(build: Build, pose: Pose) -> Joints:
    """Forward kinematics; the lower foot rests on y = 0 (plus the pose's jump lift)."""
    b = build
    hip_c = np.array([0.0, 0.0])
    up = -_dir(pose.lean)  # torso direction (upward)
    side = np.array([up[1], -up[0]])  # to the figure's right
    neck = hip_c + up * b.torso
    shoulders = (neck - side * b.shoulder - up * 0.025, neck + side * b.shoulder - up * 0.025)
    hips = (hip_c - side * b.hip, hip_c + side * b.hip)
    head = neck + up * (b.head * 1.25)
    elbows, hands = [], []
    for s, (ua, fa) in zip(shoulders, (pose.l_arm, pose.r_arm), strict=True):
        e = s + _dir(ua) * b.upper_arm
        elbows.append(e)
        hands.append(e + _dir(fa) * b.forearm)
    knees, feet = [], []
    for hp, (th, sh) in zip(hips, (pose.l_leg, pose.r_leg), strict=True):
        k = hp + _dir(th) * b.thigh
        knees.append(k)
        feet.append(k + _dir(sh) * b.shin)
    lowest = min(f[1] for f in feet) - b.limb * 0.75
    shift = np.array([0.0, -lowest + pose.lift])
    return Joints(
        head + shift,
        neck + shift,
        (shoulders[0] + shift, shoulders[1] + shift),
        (hips[0] + shift, hips[1] + shift),
        (elbows[0] + shift, elbows[1] + shift),
        (hands[0] + shift, hands[1] + shift),
        (knees[0] + shift, knees[1] + shift),
        (feet[0] + shift, feet[1] + shift),
    )


class _Canvas:
    """Anti-aliased drawing in figure units onto a pixel box (sub-pixel precision)."""

    SHIFT = 4

    def __init__(self, h: int, w: int, origin: tuple[float, float], scale: float) -> None:
        self.body = np.zeros((h, w), np.uint8)
        self.glow = np.zeros((h, w), np.uint8)  # visors, LEDs: painted in the accent
        self.ox, self.oy, self.k = origin[0], origin[1], scale

    def pt(self, p: np.ndarray | tuple[float, float]) -> tuple[int, int]:
        s = 1 << self.SHIFT
        return (int((self.ox + p[0] * self.k) * s), int((self.oy - p[1] * self.k) * s))

    def line(self, a: np.ndarray, b: np.ndarray, t: float, glow: bool = False) -> None:
        tgt = self.glow if glow else self.body
        cv2.line(tgt, self.pt(a), self.pt(b), 255, max(1, int(t * self.k)), cv2.LINE_AA, 4)

    def circle(self, c: np.ndarray, r: float, glow: bool = False, thick: int = -1) -> None:
        tgt = self.glow if glow else self.body
        rr = max(1, int(r * self.k * (1 << self.SHIFT)))
        cv2.circle(tgt, self.pt(c), rr, 255, thick, cv2.LINE_AA, self.SHIFT)

    def taper(self, a: np.ndarray, b: np.ndarray, ta: float, tb: float) -> None:
        """A limb: a quad from width ta at a to tb at b, with round joints at both ends."""
        v = b - a
        n = np.array([-v[1], v[0]]) / max(float(np.hypot(*v)), 1e-6)
        self.poly([a + n * ta / 2, b + n * tb / 2, b - n * tb / 2, a - n * ta / 2])
        self.circle(a, ta / 2)
        self.circle(b, tb / 2)

    def poly(self, pts: list[np.ndarray] | np.ndarray, glow: bool = False) -> None:
        tgt = self.glow if glow else self.body
        arr = np.array([self.pt(p) for p in pts], np.int32)
        cv2.fillPoly(tgt, [arr], 255, cv2.LINE_AA, self.SHIFT)


def _draw_person(cv: _Canvas, b: Build, pose: Pose, x0: float = 0.0) -> None:
    j = pose_joints(b, pose)
    off = np.array([x0, 0.0])
    leg_t, arm_t = b.limb * 1.5, b.limb
    for hp, kn, ft in zip(j.hips, j.knees, j.feet, strict=True):
        bulk = 1.3 if b.helmet or b.boxy else 1.0
        cv.taper(hp + off, kn + off, leg_t * 1.15 * bulk, leg_t * 0.72 * bulk)
        cv.taper(kn + off, ft + off, leg_t * 0.75 * bulk, leg_t * 0.45 * bulk)
        # Feet point forward-ish (to the light side is fine for a silhouette).
        cv.line(ft + off, ft + off + np.array([0.05, 0.0]), leg_t * 0.6)
    sl, sr = j.shoulders
    hl, hr = j.hips
    waist = (hl + hr) / 2 + (j.neck - (hl + hr) / 2) * 0.35
    side = (sr - sl) / max(np.linalg.norm(sr - sl), 1e-6)
    w_half = b.hip * (1.4 if b.boxy else 0.8)
    torso = [sl, sr, waist + side * w_half, hr, hl, waist - side * w_half]
    cv.poly([p + off for p in torso])
    if b.skirt > 0:
        down = (hl + hr) / 2 - j.neck
        down /= max(np.linalg.norm(down), 1e-6)
        hem = (hl + hr) / 2 + down * b.skirt
        hside = np.array([down[1], -down[0]]) * -1
        cv.poly(
            [
                p + off
                for p in (
                    waist - side * w_half,
                    waist + side * w_half,
                    hem + hside * b.flare,
                    hem - hside * b.flare,
                )
            ]
        )
    cv.line(j.neck + off, (j.neck + j.head) / 2 + off, b.limb * 1.2)
    for s, e, hd in zip(j.shoulders, j.elbows, j.hands, strict=True):
        bulk = 1.35 if b.helmet else 1.0
        cv.taper(s + off, e + off, arm_t * 1.15 * bulk, arm_t * 0.8 * bulk)
        cv.taper(e + off, hd + off, arm_t * 0.8 * bulk, arm_t * 0.55 * bulk)
        cv.circle(hd + off, arm_t * 0.45 * bulk)
    head = j.head + off
    if b.boxy:
        r = b.head * 1.1
        up = (j.head - j.neck) / max(np.linalg.norm(j.head - j.neck), 1e-6)
        sd = np.array([up[1], -up[0]])
        cv.poly(
            [
                head + (sd * r + up * r),
                head + (-sd * r + up * r),
                head + (-sd * r - up * r),
                head + (sd * r - up * r),
            ]
        )
        cv.line(
            head - sd * r * 0.7 + up * 0.1 * r,
            head + sd * r * 0.7 + up * 0.1 * r,
            r * 0.35,
            glow=True,
        )
        cv.line(head + up * r, head + up * r * 1.9, b.limb * 0.3)
        cv.circle(head + up * r * 1.9, b.limb * 0.45, glow=True)
        # Chest light.
        cv.circle(waist + (j.neck - waist) * 0.6, b.limb * 0.5, glow=True)
    elif b.helmet:
        cv.circle(head, b.head * 1.15)
        visor = head + np.array([0.012, -0.004])
        cv.circle(visor, b.head * 0.72, glow=True)
        back = j.neck + (waist - j.neck) * 0.4
        cv.poly(
            [
                back + np.array([-0.1, 0.08]),
                back + np.array([0.1, 0.08]),
                back + np.array([0.1, -0.14]),
                back + np.array([-0.1, -0.14]),
            ]
        )
    else:
        cv.circle(head, b.head)
        if b.hair == "bun":
            cv.circle(head + np.array([-0.01, b.head * 1.05]), b.head * 0.5)
        elif b.hair == "long":
            cv.poly(
                [
                    head + np.array([-b.head * 1.05, 0.0]),
                    head + np.array([b.head * 1.05, 0.0]),
                    head + np.array([b.head * 1.25, -b.head * 2.6]),
                    head + np.array([-b.head * 1.25, -b.head * 2.6]),
                ]
            )
    _draw_prop(cv, b, j, pose.prop, off)


def _draw_prop(cv: _Canvas, b: Build, j: Joints, prop: str, off: np.ndarray) -> None:
    if prop == "mic":
        hand = j.hands[0] + off
        cv.line(hand, hand + np.array([0.03, 0.05]), 0.018)
        cv.circle(hand + np.array([0.035, 0.06]), 0.02)
    elif prop == "mic_stand":
        mic = (j.hands[0] + j.hands[1]) / 2 + off
        base = np.array([mic[0] + 0.02, 0.0])
        cv.line(base, mic, 0.014)
        cv.line(base - np.array([0.08, 0.0]), base + np.array([0.08, 0.0]), 0.014)
        cv.circle(mic + np.array([0.0, 0.03]), 0.022)
    elif prop in ("guitar", "bass"):
        hip = (j.hips[0] + j.hips[1]) / 2 + off + np.array([0.0, 0.08])
        body_r = 0.085 if prop == "guitar" else 0.075
        cv.circle(hip + np.array([-0.03, 0.0]), body_r)
        cv.circle(hip + np.array([0.04, 0.05]), body_r * 0.75)
        neck_len = 0.36 if prop == "guitar" else 0.45
        tip = hip + np.array([neck_len * 0.85, neck_len * 0.5])
        cv.line(hip, tip, 0.022)
        cv.line(hip + np.array([-0.02, 0.0]), tip, 0.006, glow=True)  # strings catch light
    elif prop == "drums":
        base = off
        for dx, y, r in ((-0.22, 0.12, 0.1), (0.22, 0.12, 0.1), (0.0, 0.16, 0.16)):
            cv.circle(base + np.array([dx, y]), r)
        for dx in (-0.34, 0.34):
            cv.line(base + np.array([dx, 0.0]), base + np.array([dx, 0.42]), 0.012)
            cv.line(
                base + np.array([dx - 0.1, 0.44]),
                base + np.array([dx + 0.1, 0.4]),
                0.014,
                glow=True,
            )


# The band: (dx, pose kind, prop, scale) per member, the drummer behind and smaller.
_BAND = (
    (-0.0, "man", "drums", 0.82),
    (-0.42, "man", "guitar", 1.0),
    (0.42, "woman", "bass", 0.98),
    (0.0, "singer", "mic_stand", 1.02),
)
_BAND_POSES = (
    (
        Pose((-20, 60), (20, 100), (-60, 10), (60, -10)),
        Pose((-150, -100), (150, 100), (-60, 10), (60, -10)),
    ),
    (
        Pose((-10, 70), (30, 80), (-12, -6), (12, 6)),
        Pose((-20, 80), (60, 150), (-25, -8), (20, 8), lean=-12),
    ),
    (
        Pose((-15, 75), (30, 60), (-8, -4), (8, 4)),
        Pose((-10, 80), (35, 70), (-10, -4), (14, 4), lean=8),
    ),
    (
        Pose((-20, -150), (20, -150), prop="mic_stand"),
        Pose((-25, -150), (140, 170), prop="mic", lean=-8),
    ),
)


def pose_count(kind: str) -> int:
    return len(_BAND_POSES[0]) if kind == "band" else len(POSES.get(kind, POSES["dancer"]))


def figure_aspect(kind: str) -> float:
    """Width / height of the figure's box (the band is a row of people)."""
    return 1.9 if kind == "band" else 0.75


def _draw_kind(cv: _Canvas, kind: str, pose_index: int) -> None:
    if kind == "band":
        for (dx, member, prop, _), poses in zip(_BAND, _BAND_POSES, strict=True):
            pose = poses[pose_index % len(poses)]
            if prop != "mic_stand":
                pose = Pose(pose.l_arm, pose.r_arm, pose.l_leg, pose.r_leg, pose.lean, 0.0, prop)
            base = BUILDS[member]
            if member == "man" and prop == "drums":
                # Seated drummer: raise him to the kit's height, legs hidden by the drums.
                cv.oy -= 0.12 * cv.k
                _draw_person(cv, base, pose, dx)
                cv.oy += 0.12 * cv.k
                _draw_prop(cv, base, pose_joints(base, pose), "drums", np.array([dx, 0.0]))
                continue
            _draw_person(cv, BUILDS["singer"] if member == "singer" else base, pose, dx)
        return
    own = POSES.get(kind, POSES["dancer"])
    _draw_person(cv, BUILDS.get(kind, BUILDS["dancer"]), own[pose_index % len(own)])


def figure_mask(
    kind: str,
    pose_index: int,
    height_px: float,
    box: tuple[int, int, int, int],
    feet: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Body and glow masks (float 0..1) inside box (y0, y1, x0, x1) of the frame, for a figure
    `height_px` tall whose feet centre is at frame pixel `feet` (x, y)."""
    y0, y1, x0, x1 = box
    cv = _Canvas(y1 - y0, x1 - x0, (feet[0] - x0, feet[1] - y0), height_px)
    _draw_kind(cv, kind, pose_index)
    return cv.body.astype(F32) / 255.0, cv.glow.astype(F32) / 255.0


def draw_figure(
    layer: Layer,
    kind: str,
    pose_index: int,
    feet: tuple[float, float],
    height_px: float,
    pal: Palette,
    light_side: float,
    px: float,
    fill: RGB | None = None,
) -> None:
    """Paint one figure (halo, silhouette, rim light, glowing details) onto `layer`."""
    h, w = layer.a.shape
    aspect = figure_aspect(kind)
    margin = 0.1 * height_px + 14 * px
    bx0 = int(max(0, feet[0] - height_px * aspect * 0.75 - margin))
    bx1 = int(min(w, feet[0] + height_px * aspect * 0.75 + margin))
    by0 = int(max(0, feet[1] - height_px * 1.25 - margin))
    by1 = int(min(h, feet[1] + margin))
    if bx1 - bx0 < 2 or by1 - by0 < 2:
        return
    body, glow = figure_mask(kind, pose_index, height_px, (by0, by1, bx0, bx1), feet)
    if not body.any():
        return
    halo = d.glow(body, max(2.0, 0.035 * height_px)) * 0.6
    layer.paint_region(by0, by1, bx0, bx1, pal.accent, np.clip(halo - body, 0, 1))
    body_col = fill if fill is not None else d.mix(pal.deep, (0.0, 0.0, 0.0), 0.45)
    # A faint gradient on the body: lighter toward the light, so it is not a flat cut-out.
    xs = np.linspace(-1.0, 1.0, bx1 - bx0, dtype=F32)[None, :] * light_side
    shade = (
        np.asarray(body_col, F32)[None, None, :]
        + np.asarray(pal.shadow, F32) * (0.18 * np.clip(xs, 0, 1))[..., None]
    )
    layer.paint_region(by0, by1, bx0, bx1, shade * np.ones((by1 - by0, 1, 1), F32), body)
    # Rim light: the edge of the silhouette that faces the light.
    shift = max(1, int(round(0.006 * height_px)))
    moved = np.roll(body, int(-light_side * shift), axis=1)
    moved = np.roll(moved, shift, axis=0)
    rim = np.clip(body - moved, 0, 1)
    layer.paint_region(by0, by1, bx0, bx1, d.mix(pal.accent, pal.light, 0.45), rim)
    if glow.any():
        g = np.clip(glow + d.glow(glow, max(1.5, 0.012 * height_px)) * 1.5, 0, 1)
        layer.paint_region(by0, by1, bx0, bx1, d.mix(pal.accent, pal.light, 0.3), g)
