"""Long-audio check for the concept analysis: a 20-minute song, time and peak memory.

Run: `.venv/bin/python -m bench.concept_long [minutes]`. The song is synthesized and written to
FLAC in a child process, so this process's peak RSS covers only decoding and analysis (plus
the interpreter and libraries, reported separately).
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _make(path: str, minutes: float) -> None:
    from services.devstack.synth import SectionSpec, SongSpec, synth_song, write_audio

    bars = int(minutes * 30)  # 2 s bars at 120 BPM
    spec = SongSpec(
        "long",
        120.0,
        (
            SectionSpec("verse", bars // 2, 0.6),
            SectionSpec("chorus", bars - bars // 2, 1.0, lead=True),
        ),
        seed=1,
    )
    x, _ = synth_song(spec)
    write_audio(Path(path), x)


def measure(minutes: float = 20.0) -> str:
    from services.concept.analysis import analyse
    from services.concept.audio_decode import load_mono

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "long.flac")
        proc = multiprocessing.get_context("spawn").Process(target=_make, args=(path, minutes))
        proc.start()
        proc.join()
        analyse(np.random.default_rng(0).standard_normal(22050 * 10).astype(np.float32) * 0.1)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
        t0 = time.perf_counter()
        y = load_mono(Path(path), 22050)
        t1 = time.perf_counter()
        c = analyse(y)
        t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    return (
        f"{c.duration_seconds:.0f} s FLAC: decode {t1 - t0:.2f} s, analysis {t2 - t1:.2f} s "
        f"({(t2 - t1) / c.duration_seconds:.4f} x duration), peak RSS {peak:.0f} MB "
        f"({base:.0f} MB before decoding: interpreter and libraries)"
    )


if __name__ == "__main__":
    print(measure(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0))
