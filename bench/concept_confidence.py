"""Does the tempo confidence tell steady music from rubato and beatless music?

Run: `.venv/bin/python -m bench.concept_confidence [--no-real]` (writes
bench/results/concept_confidence.md). Steady: the synthesized benchmark songs and, when the
real-music cache is there (bench/real_music/fetch.py), the four charted Frets on Fire songs.
Unsteady: the same songs played with a tempo drifting smoothly by +-20 % (varispeed rubato,
services/devstack/synth.py `warp_tempo`), ambient drones without a pulse and free-time plucks.
Target: every steady song's confidence above every unsteady one's.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.concept_songs import benchmark_songs
from services.concept.analysis import condition
from services.concept.frontend import SR, compute_frontend
from services.concept.rhythm import Rhythm, analyse_rhythm
from services.devstack.synth import beatless_drone, free_time_plucks, synth_song, warp_tempo

RESULTS = Path(__file__).parent / "results" / "concept_confidence.md"


def rhythm_of(x: np.ndarray) -> Rhythm:
    fe = compute_frontend(condition(x, SR), SR)
    return analyse_rhythm(fe, fe.chroma)


def real_songs() -> list[tuple[str, np.ndarray]]:
    try:
        from bench.real_music.__main__ import load
        from bench.real_music.fetch import cache_dir, songs
    except ImportError:
        return []
    root = cache_dir() / "x"
    if not root.exists():
        return []
    return [(s.name, load(s)[0]) for s in songs(root) if s.chart is not None]


def collect(use_real: bool) -> tuple[list[tuple[str, Rhythm]], list[tuple[str, Rhythm]]]:
    steady: list[tuple[str, Rhythm]] = []
    unsteady: list[tuple[str, Rhythm]] = []
    sources = [(spec.name, synth_song(spec)[0]) for spec in benchmark_songs()]
    if use_real:
        sources += real_songs()
    for i, (name, x) in enumerate(sources):
        steady.append((name, rhythm_of(x)))
        print(f"steady   {name:26} {steady[-1][1].confidence:.2f}", flush=True)
        warped, _ = warp_tempo(x, depth=0.2, period_s=7.0, seed=i)
        unsteady.append((f"{name} rubato", rhythm_of(warped)))
        print(f"unsteady {name + ' rubato':26} {unsteady[-1][1].confidence:.2f}", flush=True)
    for seed in range(3):
        for kind, make in (("drone", beatless_drone), ("free-time", free_time_plucks)):
            r = rhythm_of(make(60.0, seed=seed))
            unsteady.append((f"{kind} {seed}", r))
            print(f"unsteady {kind + ' ' + str(seed):26} {r.confidence:.2f}", flush=True)
    return steady, unsteady


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    steady, unsteady = collect(not args.no_real)
    lo = min(r.confidence for _, r in steady)
    hi = max(r.confidence for _, r in unsteady)
    worst_s = min(steady, key=lambda s: s[1].confidence)[0]
    worst_u = max(unsteady, key=lambda s: s[1].confidence)[0]
    verdict = "MET" if lo > hi else "NOT MET"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    md = [
        "# Tempo confidence: steady vs rubato and beatless",
        "",
        f"Run: `.venv/bin/python -m bench.concept_confidence` ({stamp}). See the module "
        "docstring for the sets.",
        "",
        f"- lowest steady: {lo:.2f} ({worst_s}); highest unsteady: {hi:.2f} ({worst_u}); "
        f"every steady above every unsteady: {verdict}",
        "",
        "```",
        f"{'set':9} {'song':30} {'conf':>5} {'tempo':>7}",
        *[f"{'steady':9} {n:30} {r.confidence:5.2f} {r.tempo:7.2f}" for n, r in steady],
        *[f"{'unsteady':9} {n:30} {r.confidence:5.2f} {r.tempo:7.2f}" for n, r in unsteady],
        "```",
        "",
    ]
    print("\n".join(md[4:7]))
    if not args.no_write:
        RESULTS.write_text("\n".join(md))


if __name__ == "__main__":
    main()
