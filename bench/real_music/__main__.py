"""Score the concept on the real-music development set.

Run: `.venv/bin/python -m bench.real_music [--only NAME ...] [--no-write]` (downloads the
packages on first use, see bench/real_music/fetch.py; writes bench/results/real_music.md).

Charted songs (Frets on Fire, `song.ogg` + `guitar.ogg` mixed): the reference beats and bars
come from the charter's tempo map in `notes.mid` (bench/real_music/chart.py), scored only
between the first and last charted note (+-2 s), where the chart follows the music:
beat F and downbeat F with mir_eval (+-70 ms, untrimmed), tempo vs the chart's.
Every song: plain `librosa.beat.beat_track` on the same samples as the baseline (its tempo, its
beat F, its time); the concept's time is the whole analysis, and `rhythm s` the spectrogram +
tempo/beat/downbeat steps, both measured in the same run as the baseline (medians of 3
interleaved runs each).
Unannotated songs: tempo, confidence, section labels and the agreement (beat F) between our
beats and librosa's, which flags songs where one of the two is probably wrong.
Sections (no section chart exists, so only their grid is scored): on charted songs the share
of inner section boundaries within one chart beat of a chart downbeat (`secDB`) and of a
4-bar phrase start of the chart counted from its first bar (`sec4`); on every song the
sections per minute.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import librosa
import mir_eval
import numpy as np
import soundfile as sf

from bench.real_music.chart import Chart, read_chart
from bench.real_music.fetch import Song, fetch, songs
from bench.real_music.plots import draw_song
from services.common.errors import InvalidInput
from services.concept.analysis import analyse
from services.concept.audio_decode import load_mono
from services.concept.frontend import SR

RESULTS = Path(__file__).resolve().parents[1] / "results" / "real_music.md"
PLOTS = RESULTS.parent / "real_music"
MIN_SECONDS = 20.0
WINDOW = 0.07
REPEATS = 3  # timed runs per song (median)


@dataclass
class Row:
    name: str
    package: str
    duration: float
    tempo: float
    alt: float
    confidence: float
    meter: int
    lib_tempo: float
    t_analysis: float
    t_rhythm: float
    t_librosa: float
    labels: str
    section_conf: str = ""
    chart_bpm: float | None = None
    chart_meter: int | None = None
    beat_f: float | None = None
    down_f: float | None = None
    lib_f: float | None = None
    offset_ms: float | None = None
    agree_f: float = 0.0
    sections_per_min: float = 0.0
    sec_down: float | None = None
    sec_phrase: float | None = None


def load(song: Song) -> tuple[np.ndarray, list[str]]:
    """Mono mix at SR. libsndfile first (reads every Vorbis file; PyAV rejects some)."""
    parts, notes = [], []
    for f in song.files:
        try:
            data, rate = sf.read(str(f), dtype="float32", always_2d=True)
            x = librosa.resample(data.mean(axis=1), orig_sr=rate, target_sr=SR)
        except (sf.LibsndfileError, RuntimeError):
            x = load_mono(f, SR)  # raises InvalidInput when neither can decode it
            notes.append("decoded with PyAV")
        parts.append(x.astype(np.float32))
    out = np.zeros(max(len(p) for p in parts), np.float32)
    for p in parts:
        out[: len(p)] += p
    return out, notes


def _in(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return x[(x >= lo) & (x <= hi)]


def f_measure(est: np.ndarray, ref: np.ndarray) -> float:
    if ref.size == 0 or est.size == 0:
        return 0.0
    return float(mir_eval.beat.f_measure(ref, est, f_measure_threshold=WINDOW))


def median_offset_ms(est: np.ndarray, ref: np.ndarray) -> float | None:
    """Median signed est - ref of the beats matched within the window (the grid's latency)."""
    if est.size == 0 or ref.size == 0:
        return None
    d = est[:, None] - ref[None, :]
    near = d[np.arange(est.size), np.argmin(np.abs(d), axis=1)]
    near = near[np.abs(near) <= WINDOW]
    return 1000.0 * float(np.median(near)) if near.size else None


def section_grid(starts: np.ndarray, chart: Chart) -> tuple[float | None, float | None]:
    """Shares of section starts within one chart beat of a chart downbeat / a 4-bar phrase
    start of the chart (every 4th bar from its first)."""
    if starts.size == 0:
        return None, None
    beat = 60.0 / chart.bpm

    def share(grid: np.ndarray) -> float:
        return float(np.mean(np.abs(starts[:, None] - grid[None, :]).min(axis=1) <= beat))

    return share(chart.downbeats), share(chart.downbeats[::4])


def warm_up(samples: np.ndarray) -> None:
    """First calls pay for numba compilation and caches: keep that out of the timings (one
    untimed pass over the first song, whose code paths are the ones being timed)."""
    analyse(samples, SR)
    librosa.beat.beat_track(y=samples, sr=SR)


def timed(samples: np.ndarray, repeats: int = REPEATS) -> tuple[Any, Any, float, float, float]:
    """(concept, librosa's (tempo, frames), analysis s, rhythm s, beat_track s): medians over
    `repeats` interleaved runs, so one burst of load on a shared machine does not decide."""
    t_ana, t_rhy, t_lib = [], [], []
    concept = lib = None
    for _ in range(repeats):
        marks: dict[str, float] = {}

        def report(done: int, total: int, message: str, marks: dict[str, float] = marks) -> None:
            marks.setdefault(message, time.perf_counter())

        t0 = time.perf_counter()
        concept = analyse(samples, SR, report=report)
        t_ana.append(time.perf_counter() - t0)
        t_rhy.append(marks.get("measuring intensity, bands and brightness", t0) - t0)
        t0 = time.perf_counter()
        lib = librosa.beat.beat_track(y=samples, sr=SR, units="frames")
        t_lib.append(time.perf_counter() - t0)
    return (
        concept,
        lib,
        statistics.median(t_ana),
        statistics.median(t_rhy),
        statistics.median(t_lib),
    )


def score_song(song: Song, samples: np.ndarray, plot: bool = False) -> Row:
    concept, (lib_tempo, lib_frames), t_analysis, t_rhythm, t_librosa = timed(samples)
    lib_beats = librosa.frames_to_time(lib_frames, sr=SR)
    beats = np.array([b.time for b in concept.beats])
    downs = np.array(concept.downbeat_times)
    # Role (5 letters) + its number: "choru2 choru2" is one chorus cut in two, not two.
    labels = " ".join(f"{s.label.split()[0][:5]}{s.label.split()[-1]}" for s in concept.sections)
    row = Row(
        name=song.name,
        package=song.package,
        duration=len(samples) / SR,
        tempo=concept.tempo_bpm,
        alt=concept.alt_tempo_bpm,
        confidence=concept.tempo_confidence,
        meter=concept.beats_per_bar,
        lib_tempo=float(np.atleast_1d(lib_tempo)[0]),
        t_analysis=t_analysis,
        t_rhythm=t_rhythm,
        t_librosa=t_librosa,
        labels=labels,
        agree_f=f_measure(beats, lib_beats),
        sections_per_min=60.0 * len(concept.sections) / max(len(samples) / SR, 1e-9),
    )
    sec_conf = [getattr(s, "tempo_confidence", None) for s in concept.sections]
    if sec_conf and all(c is not None for c in sec_conf) and any(sec_conf):
        row.section_conf = " ".join(f"{c:.2f}" for c in sec_conf)
    if song.chart is not None:
        chart: Chart = read_chart(song.chart)
        lo, hi = float(chart.notes[0]) - 2.0, min(float(chart.notes[-1]) + 2.0, row.duration)
        ref_b, ref_d = _in(chart.beats, lo, hi), _in(chart.downbeats, lo, hi)
        row.chart_bpm, row.chart_meter = chart.bpm, chart.beats_per_bar
        row.beat_f = f_measure(_in(beats, lo, hi), ref_b)
        row.offset_ms = median_offset_ms(_in(beats, lo, hi), ref_b)
        row.down_f = f_measure(_in(downs, lo, hi), ref_d)
        row.lib_f = f_measure(_in(lib_beats, lo, hi), ref_b)
        inner = np.array([sec.start for sec in concept.sections[1:]])
        row.sec_down, row.sec_phrase = section_grid(inner, chart)
    if plot:
        slug = song.name.lower().replace(" ", "_")
        down = read_chart(song.chart).downbeats if song.chart is not None else None
        draw_song(PLOTS / f"{slug}.png", f"{song.name} ({song.package})", samples, concept, down)
    return row


def _opt(x: float | None, fmt: str) -> str:
    return "-" if x is None else fmt.format(x)


HEAD_CHART = (
    f"{'song':22} {'dur':>4} {'chart':>6} {'tempo':>7} {'err%':>5} {'alt':>6} {'conf':>4} "
    f"{'beatF':>5} {'off':>4} {'downF':>5} {'meter':>5} {'lib':>6} {'libF':>5} "
    f"{'ana s':>5} {'rhy s':>5} {'lib s':>5} {'secDB':>5} {'sec4':>4} {'/min':>4}  sections"
)
HEAD_FREE = (
    f"{'song':22} {'package':16} {'dur':>4} {'tempo':>7} {'alt':>6} {'conf':>4} {'m':>1} "
    f"{'lib':>6} {'agreeF':>6} {'ana s':>5} {'lib s':>5} {'/min':>4}  sections"
)


def tempo_error(r: Row) -> float:
    return 100 * abs(r.tempo - (r.chart_bpm or 0)) / (r.chart_bpm or 1)


def line_chart(r: Row) -> str:
    err = tempo_error(r)
    return (
        f"{r.name[:22]:22} {r.duration:4.0f} {r.chart_bpm:6.1f} {r.tempo:7.2f} {err:5.2f} "
        f"{r.alt:6.1f} {r.confidence:4.2f} {_opt(r.beat_f, '{:.3f}'):>5} "
        f"{_opt(r.offset_ms, '{:+.0f}'):>4} "
        f"{_opt(r.down_f, '{:.3f}'):>5} {r.meter}/{r.chart_meter}   {r.lib_tempo:6.1f} "
        f"{_opt(r.lib_f, '{:.3f}'):>5} {r.t_analysis:5.2f} {r.t_rhythm:5.2f} "
        f"{r.t_librosa:5.2f} {_opt(r.sec_down, '{:.2f}'):>5} {_opt(r.sec_phrase, '{:.2f}'):>4} "
        f"{r.sections_per_min:4.1f}  {r.labels}"
    )


def line_free(r: Row) -> str:
    return (
        f"{r.name[:22]:22} {r.package[:16]:16} {r.duration:4.0f} {r.tempo:7.2f} {r.alt:6.1f} "
        f"{r.confidence:4.2f} {r.meter} {r.lib_tempo:6.1f} {r.agree_f:6.3f} "
        f"{r.t_analysis:5.2f} {r.t_librosa:5.2f} {r.sections_per_min:4.1f}  {r.labels}"
    )


def summary(charted: list[Row], free: list[Row]) -> list[str]:
    rows = charted + free
    out = []
    if charted:
        worst_err = max(tempo_error(r) for r in charted)
        worst_f = min(r.beat_f or 0.0 for r in charted)
        out += [
            f"- charted songs: {len(charted)}; worst beat F {worst_f:.3f} (target >= 0.95 on "
            f"each: {'MET' if worst_f >= 0.95 else 'NOT MET'}); worst tempo error "
            f"{worst_err:.2f} % (target <= 2 %: {'MET' if worst_err <= 2 else 'NOT MET'})",
            f"- mean beat F {statistics.mean(r.beat_f or 0 for r in charted):.3f} (plain librosa "
            f"{statistics.mean(r.lib_f or 0 for r in charted):.3f}); mean downbeat F "
            f"{statistics.mean(r.down_f or 0 for r in charted):.3f}",
        ]
    scored = [r for r in charted if r.sec_down is not None]
    if scored:
        out.append(
            f"- section boundaries (charted songs): "
            f"{statistics.mean(r.sec_down or 0 for r in scored):.2f} within one beat of a chart "
            f"downbeat, {statistics.mean(r.sec_phrase or 0 for r in scored):.2f} of a chart "
            f"4-bar phrase start (mean over songs)"
        )
    if rows:
        out.append(
            f"- sections per minute: median "
            f"{statistics.median(r.sections_per_min for r in rows):.1f}"
            f" (range {min(r.sections_per_min for r in rows):.1f}-"
            f"{max(r.sections_per_min for r in rows):.1f})"
        )
        ratio = statistics.median(r.t_analysis / r.t_librosa for r in rows)
        rratio = statistics.median(r.t_rhythm / r.t_librosa for r in rows)
        worst = max(r.t_rhythm / r.t_librosa for r in rows)
        out.append(
            f"- speed (median over {len(rows)} songs, same run): whole analysis / plain "
            f"beat_track = {ratio:.2f}; spectrogram + tempo/beats/downbeats / beat_track = "
            f"{rratio:.2f} (worst {worst:.2f}; target <= 3: {'MET' if worst <= 3 else 'NOT MET'})"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--only", nargs="*", default=None, help="song names (substring match)")
    ap.add_argument("--charted", action="store_true", help="only the charted songs")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    root = fetch(args.cache)
    warm = False
    charted: list[Row] = []
    free: list[Row] = []
    skipped: list[str] = []
    notes: list[str] = []
    for song in songs(root):
        if args.only and not any(o.lower() in song.name.lower() for o in args.only):
            continue
        if args.charted and song.chart is None:
            continue
        try:
            samples, how = load(song)
        except InvalidInput as exc:
            skipped.append(f"{song.name} ({song.package}): {exc}")
            continue
        if len(samples) < MIN_SECONDS * SR:
            skipped.append(f"{song.name} ({song.package}): shorter than {MIN_SECONDS:.0f} s")
            continue
        notes += [f"{song.name}: {h}" for h in how]
        if not warm:
            warm_up(samples)
            warm = True
        row = score_song(song, samples, plot=song.chart is not None and not args.no_write)
        if song.chart is not None:
            charted.append(row)
            print(line_chart(row), flush=True)
        else:
            free.append(row)
            print(line_free(row), flush=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    md = [
        "# Concept on real music (development set)",
        "",
        f"Run: `.venv/bin/python -m bench.real_music` ({stamp}, 2-core machine shared with "
        "other work: times are noisy, ratios are from the same run). Packages: "
        "fretsonfire-songs-sectoid (charted), hyperrogue-music, fb-music-high, asc-music, "
        "drascula-music (Debian, downloaded and unpacked by bench/real_music/fetch.py, never "
        "installed or committed). See the module docstring of bench/real_music/__main__.py for "
        "what each column measures.",
        "",
        "## Summary",
        "",
        *summary(charted, free),
        "",
        "## Charted songs (Frets on Fire: the charter's tempo map)",
        "",
        "`chart` = the chart's BPM, `err%` = |ours - chart| / chart, `beatF`/`downF` = beat and "
        "downbeat F (+-70 ms) against the chart, `off` = median signed offset (ms) of our "
        "matched beats from the chart's, `meter` = ours/chart beats per bar, `lib`/`libF`"
        " = plain librosa.beat.beat_track's tempo and beat F, `ana s` = whole analysis, `rhy s` ="
        " spectrogram + rhythm steps, `lib s` = beat_track, `secDB`/`sec4` = share of section"
        " boundaries within one chart beat of a chart downbeat / of a 4-bar phrase start of the"
        " chart, `/min` = sections per minute.",
        "",
        "```",
        HEAD_CHART,
        *[line_chart(r) for r in charted],
        "```",
        "",
        "Self-similarity + energy plots with the concept's sections (and the chart's bars as "
        "ticks): `bench/results/real_music/*.png`.",
        "",
        "## Unannotated songs",
        "",
        "`agreeF` = beat F of librosa's beats against ours (+-70 ms): low values flag a song where"
        " the two trackers disagree (metrical level, phase, or no clear beat).",
        "",
        "```",
        HEAD_FREE,
        *[line_free(r) for r in free],
        "```",
        "",
    ]
    sec = [r for r in charted + free if r.section_conf]
    if sec:
        md += ["## Per-section confidence", "", "```"]
        md += [f"{r.name[:22]:22} {r.section_conf}" for r in sec]
        md += ["```", ""]
    if skipped or notes:
        md += ["## Skipped / notes", ""] + [f"- {s}" for s in skipped + notes] + [""]
    print("\n".join(summary(charted, free)))
    if not args.no_write:
        RESULTS.write_text("\n".join(md))
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
