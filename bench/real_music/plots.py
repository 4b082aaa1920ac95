"""Self-similarity + energy plots of a song with the concept's sections (Pillow, no matplotlib).

Top: the bar-by-bar self-similarity of the features the section finder uses
(services/concept/structure.py `bar_features`, cosine similarity; bright = alike), so repeats
show as bright off-diagonal stripes and section changes as block edges. Bottom: the intensity
curve. Lines: the concept's section boundaries, labelled with their roles; ticks: the chart's
bars every 4 bars when there is a chart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from lumiere.v1 import concept_pb2
from PIL import Image, ImageDraw, ImageFont

from services.concept.analysis import condition
from services.concept.dynamics import analyse_dynamics
from services.concept.frontend import SR, compute_frontend
from services.concept.structure import bar_features

SIZE = 600
CURVE_H = 140
MARGIN = 30


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default()


def draw_song(
    path: Path,
    title: str,
    samples: np.ndarray,
    concept: concept_pb2.Concept,
    chart_downbeats: np.ndarray | None = None,
) -> Path:
    fe = compute_frontend(condition(samples, SR), SR)
    dyn = analyse_dynamics(fe)
    downbeats = np.asarray(concept.downbeat_times, dtype=float)
    duration = fe.duration
    edges = np.append(downbeats, duration) if downbeats.size > 1 else np.linspace(0, duration, 64)
    feats = bar_features(fe, dyn, fe.chroma, edges)
    unit = feats / (np.linalg.norm(feats, axis=1, keepdims=True) + 1e-9)
    ssm = np.clip((unit @ unit.T + 1.0) / 2.0, 0.0, 1.0)
    img = Image.fromarray((255 * ssm**2).astype(np.uint8), mode="L").resize(
        (SIZE, SIZE), Image.Resampling.NEAREST
    )
    w, h = SIZE + 2 * MARGIN, SIZE + CURVE_H + 3 * MARGIN
    canvas = Image.new("RGB", (w, h), "white")
    canvas.paste(img.convert("RGB"), (MARGIN, MARGIN))
    d = ImageDraw.Draw(canvas)
    font = _font(11)
    d.text((MARGIN, 8), title, fill="black", font=_font(13))

    def x_of_time(t: float) -> float:
        # Bars are not equally long in time; place times by bar index (the matrix's axis).
        k = float(np.interp(t, edges, np.arange(edges.size)))
        return MARGIN + SIZE * k / max(edges.size - 1, 1)

    top = MARGIN + SIZE + MARGIN
    inten = np.asarray(dyn.intensity, dtype=float)
    ts = np.arange(inten.size) / dyn.rate_hz
    pts = [
        (x_of_time(t), top + CURVE_H * (1.0 - v)) for t, v in zip(ts[::4], inten[::4], strict=True)
    ]
    d.rectangle([MARGIN, top, MARGIN + SIZE, top + CURVE_H], outline="gray")
    if len(pts) > 1:
        d.line(pts, fill="black", width=1)
    if chart_downbeats is not None:
        for t in chart_downbeats[::4]:
            x = x_of_time(float(t))
            d.line([x, top + CURVE_H, x, top + CURVE_H + 6], fill="blue")
    for i, s in enumerate(concept.sections):
        x = x_of_time(s.start)
        d.line([x, MARGIN, x, MARGIN + SIZE], fill=(255, 60, 60), width=1)
        d.line([x, top, x, top + CURVE_H], fill=(255, 60, 60), width=1)
        y = MARGIN + SIZE * float(np.interp(s.start, edges, np.arange(edges.size))) / max(
            edges.size - 1, 1
        )
        d.line([MARGIN, y, MARGIN + SIZE, y], fill=(255, 60, 60), width=1)
        # Alternate rows so short sections' labels do not overlap.
        d.text((x + 2, top + 2 + 12 * (i % 3)), s.label, fill=(200, 0, 0), font=font)
    d.text(
        (MARGIN, h - 18),
        f"{concept.tempo_bpm:.1f} BPM, confidence {concept.tempo_confidence:.2f}; "
        "self-similarity of bars (bright = alike), intensity below, red = sections",
        fill="black",
        font=font,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path, optimize=True)
    return path
