"""Concept analysis benchmark: accuracy on synthesized ground truth, speed, real recordings.

Run: `.venv/bin/python -m bench.concept_accuracy [--fetch-real] [--long]` (writes
bench/results/concept_accuracy.md; the committed file was made with both flags). Figures:

- beat F-measure (mir_eval, +-70 ms, untrimmed), tempo error vs the truth's median inter-beat
  interval, median signed beat offset (est - ref, matched beats);
- downbeat F-measure (+-70 ms), meter (3 vs 4), section-boundary F at +-3 s (mir_eval
  segment detection, trimmed: the trivial first/last boundaries are excluded), key;
- analysis time / audio duration on a 3-minute song, warm, next to plain
  `librosa.beat.beat_track` measured in the same run.

Also: a held-out set of random songs (not used for tuning), and with `--long` a 20-minute song
(time and peak memory, bench/concept_long.py).

Real recordings: audio files from `--real DIR_OR_WHEEL` (or $LUMIERE_BENCH_AUDIO_DIR), the loop
shipped inside the pygame wheel when pygame is installed, or (`--fetch-real`) that wheel
downloaded with pip into a temp dir, not installed.
"""

from __future__ import annotations

import argparse
import atexit
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import librosa
import mir_eval
import numpy as np

from bench.concept_songs import benchmark_songs, heldout_songs, three_minute_song
from services.common.errors import InvalidInput
from services.concept.analysis import analyse
from services.concept.audio_decode import load_mono
from services.concept.tonality import NOTE_NAMES
from services.devstack.synth import SR, synth_song, write_audio

RESULTS = Path(__file__).parent / "results" / "concept_accuracy.md"
HELDOUT_SEED = 500
PYGAME_WHEEL = "pygame==2.6.1"
AUDIO_SUFFIXES = {".wav", ".mp3", ".ogg", ".flac", ".opus", ".m4a"}


def _tonic(root_hz: float) -> str:
    midi = int(round(librosa.hz_to_midi(root_hz)))
    return NOTE_NAMES[midi % 12]


def _median_offset_ms(est: np.ndarray, ref: np.ndarray, window: float = 0.07) -> float:
    if est.size == 0 or ref.size == 0:
        return float("nan")
    d = est[:, None] - ref[None, :]
    nearest = d[np.arange(est.size), np.argmin(np.abs(d), axis=1)]
    nearest = nearest[np.abs(nearest) <= window]
    return 1000.0 * float(np.median(nearest)) if nearest.size else float("nan")


def _intervals(bounds: list[float]) -> np.ndarray:
    return np.array([[a, b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)])


def evaluate_song(spec) -> dict:  # type: ignore[no-untyped-def]
    x, truth = synth_song(spec)
    t0 = time.perf_counter()
    c = analyse(x, SR, prompt="benchmark")
    elapsed = time.perf_counter() - t0
    beats = np.array([b.time for b in c.beats])
    downbeats = np.array(c.downbeat_times)
    ref_tempo = 60.0 / float(np.median(np.diff(truth.beats)))
    ref_b = [s[0] for s in truth.sections] + [truth.duration]
    est_b = [s.start for s in c.sections] + [c.duration_seconds]
    ref_b[-1] = est_b[-1] = max(ref_b[-1], est_b[-1])
    _, _, seg_f = mir_eval.segment.detection(
        _intervals(ref_b), _intervals(est_b), window=3.0, trim=True
    )
    _, _, seg_f_all = mir_eval.segment.detection(
        _intervals(ref_b), _intervals(est_b), window=3.0, trim=False
    )
    mode = "minor" if c.mode == 2 else "major"
    # Role agreement: share of the song whose estimated section role equals the true role.
    agree = 0.0
    for start, end, role in truth.sections:
        mid = (start + end) / 2
        est = next((s for s in c.sections if s.start <= mid < s.end), None)
        if est is not None and est.label.split()[0] == role:
            agree += end - start
    return {
        "roles": agree / truth.sections[-1][1],
        "name": spec.name,
        "duration": truth.duration,
        "ref_tempo": ref_tempo,
        "tempo": c.tempo_bpm,
        "tempo_err": 100.0 * abs(c.tempo_bpm - ref_tempo) / ref_tempo,
        "conf": c.tempo_confidence,
        "beat_f": mir_eval.beat.f_measure(truth.beats, beats, 0.07),
        "offset_ms": _median_offset_ms(beats, truth.beats),
        "inferred": sum(b.inferred for b in c.beats),
        "down_f": mir_eval.beat.f_measure(truth.downbeats, downbeats, 0.07),
        "meter": f"{c.beats_per_bar}/{truth.beats_per_bar}",
        "seg_f": seg_f,
        "seg_f_all": seg_f_all,
        "n_sec": f"{len(c.sections)}/{len(truth.sections)}",
        "labels": " ".join(s.label.split()[0][:5] for s in c.sections),
        "key": f"{c.key} {mode}",
        "ref_key": f"{_tonic(spec.key_root_hz)} {'minor' if spec.minor else 'major'}",
        "time": elapsed,
    }


def speed() -> dict:
    x, truth = synth_song(three_minute_song())
    dur = truth.duration
    analyse(x[: SR * 20], SR)  # warm caches / numba
    librosa.beat.beat_track(y=x[: SR * 20], sr=SR)
    ours, base = [], []
    # The machine is shared: report the median and the best of 5 (the uncontended cost).
    for _ in range(5):
        t0 = time.perf_counter()
        analyse(x, SR, prompt="speed")
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        librosa.beat.beat_track(y=x, sr=SR)
        base.append(time.perf_counter() - t0)
    with tempfile.TemporaryDirectory() as tmp:
        mp3 = write_audio(Path(tmp) / "song.mp3", x)
        t0 = time.perf_counter()
        load_mono(mp3, SR)
        decode = time.perf_counter() - t0
    return {
        "duration": dur,
        "ours": statistics.median(ours),
        "base": statistics.median(base),
        "ours_min": min(ours),
        "base_min": min(base),
        "decode": decode,
    }


def fetch_pygame_wheel() -> Path | None:
    """Download (not install) the pygame wheel with pip; it ships a 7 s music loop."""
    import subprocess

    out = Path(tempfile.mkdtemp(prefix="concept-bench-wheel-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    cmd = [sys.executable, "-m", "pip", "download", PYGAME_WHEEL, "--no-deps", "-q", "-d", str(out)]
    subprocess.run(cmd, check=False, capture_output=True)
    wheels = sorted(out.glob("pygame-*.whl"))
    return wheels[0] if wheels else None


def real_recordings(extra: Path | None) -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    spec = importlib.util.find_spec("pygame")
    if spec and spec.submodule_search_locations:
        data = Path(next(iter(spec.submodule_search_locations))) / "examples" / "data"
        loop = data / "house_lo.ogg"
        if loop.is_file():
            found.append((loop, "pygame wheel example loop (house_lo.ogg)"))
    if extra and extra.is_dir():
        for p in sorted(extra.iterdir()):
            if p.suffix.lower() in AUDIO_SUFFIXES:
                found.append((p, "local file"))
    elif extra and extra.suffix == ".whl" and extra.is_file():
        # A downloaded wheel (e.g. `pip download pygame==2.6.1 --no-deps`): its audio files.
        out = Path(tempfile.mkdtemp(prefix="concept-bench-"))
        atexit.register(shutil.rmtree, out, ignore_errors=True)
        with zipfile.ZipFile(extra) as whl:
            for name in whl.namelist():
                if Path(name).suffix.lower() in AUDIO_SUFFIXES and "/data/" in name:
                    target = out / Path(name).name
                    target.write_bytes(whl.read(name))
                    found.append((target, f"{extra.name}: {name}"))
    return found


def analyse_real(path: Path) -> dict:
    y = load_mono(path, SR)
    t0 = time.perf_counter()
    c = analyse(y, SR)
    return {
        "name": path.name,
        "duration": c.duration_seconds,
        "tempo": c.tempo_bpm,
        "alt": c.alt_tempo_bpm,
        "conf": c.tempo_confidence,
        "meter": c.beats_per_bar,
        "beats": len(c.beats),
        "inferred": sum(b.inferred for b in c.beats),
        "key": f"{c.key} {'minor' if c.mode == 2 else 'major'}",
        "sections": ", ".join(f"{s.label} {s.start:.1f}-{s.end:.1f}" for s in c.sections),
        "mood": ", ".join(c.mood.descriptors),
        "time": time.perf_counter() - t0,
    }


def table(rows: list[dict]) -> list[str]:
    head = (
        f"{'song':24} {'dur':>5} {'ref':>6} {'tempo':>7} {'err%':>5} {'conf':>4} {'beatF':>5} "
        f"{'off ms':>6} {'inf':>3} {'downF':>5} {'meter':>5} {'segF':>4} {'segF*':>5} "
        f"{'n sec':>5} {'roles':>5} {'key':>9} {'ref key':>9}  labels"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"{r['name']:24} {r['duration']:5.0f} {r['ref_tempo']:6.1f} {r['tempo']:7.2f} "
            f"{r['tempo_err']:5.2f} {r['conf']:4.2f} {r['beat_f']:5.3f} {r['offset_ms']:6.1f} "
            f"{r['inferred']:3d} {r['down_f']:5.3f} {r['meter']:>5} {r['seg_f']:4.2f} "
            f"{r['seg_f_all']:5.2f} {r['n_sec']:>5} {r['roles']:5.2f} {r['key']:>9} "
            f"{r['ref_key']:>9}  {r['labels']}"
        )
    return lines


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def accuracy_summary(rows: list[dict]) -> list[str]:
    mean = {
        k: float(np.mean([r[k] for r in rows]))
        for k in ("beat_f", "down_f", "seg_f", "seg_f_all", "roles")
    }
    med_off = float(np.median([r["offset_ms"] for r in rows]))
    worst_tempo = max(r["tempo_err"] for r in rows)
    meters_ok = sum(r["meter"].split("/")[0] == r["meter"].split("/")[1] for r in rows)
    keys_ok = sum(r["key"] == r["ref_key"] for r in rows)
    mb, md, ms = mean["beat_f"], mean["down_f"], mean["seg_f"]
    return [
        f"songs: {len(rows)}",
        f"mean beat F (+-70 ms): {mb:.3f}  (target >= 0.97: {verdict(mb >= 0.97)})",
        f"worst tempo error: {worst_tempo:.2f} %  "
        f"(target <= 2 % on every song: {verdict(worst_tempo <= 2.0)})",
        f"median beat offset: {med_off:+.1f} ms  "
        f"(target within +-10 ms: {verdict(abs(med_off) <= 10)})",
        f"mean downbeat F: {md:.3f}  (target >= 0.9: {verdict(md >= 0.9)})",
        f"meter correct: {meters_ok}/{len(rows)}",
        f"mean section boundary F (+-3 s, trimmed): {ms:.3f}  (target >= 0.8: "
        f"{verdict(ms >= 0.8)}); untrimmed (counts start/end): {mean['seg_f_all']:.3f}",
        f"key (tonic + mode) correct: {keys_ok}/{len(rows)}; section role agreement (share of "
        f"song time labelled with the true role): {mean['roles']:.2f}",
    ]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", type=Path, default=os.environ.get("LUMIERE_BENCH_AUDIO_DIR"))
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--long", action="store_true", help="also time a 20-minute song")
    ap.add_argument(
        "--fetch-real",
        action="store_true",
        help=f"pip download {PYGAME_WHEEL} (no install) and analyse the music loop it ships",
    )
    args = ap.parse_args()
    if args.fetch_real and args.real is None:
        args.real = fetch_pygame_wheel()

    rows = [evaluate_song(s) for s in benchmark_songs()]
    held = [evaluate_song(s) for s in heldout_songs(HELDOUT_SEED)]
    sp = speed()
    ratio, base_ratio = sp["ours"] / sp["duration"], sp["base"] / sp["duration"]
    dur = sp["duration"]
    summary = accuracy_summary(rows) + [
        f"speed, {dur:.0f} s song, warm: analysis {sp['ours']:.3f} s = {ratio:.4f} x duration "
        f"(target <= 0.02: {verdict(ratio <= 0.02)}); plain librosa.beat.beat_track "
        f"{sp['base']:.3f} s = {base_ratio:.4f} x duration; full analysis / beat_track = "
        f"{sp['ours'] / sp['base']:.2f} (median of 5; best of 5: {sp['ours_min'] / dur:.4f} vs "
        f"{sp['base_min'] / dur:.4f}); decoding the same song from MP3 adds "
        f"{sp['decode'] / dur:.4f} x duration",
    ]
    if args.long:
        import subprocess

        out = subprocess.run(
            [sys.executable, "-m", "bench.concept_long", "20"], capture_output=True, text=True
        )
        summary.append(f"long audio: {(out.stdout or out.stderr).strip()[-400:]}")
    held_summary = accuracy_summary(held)
    sources = real_recordings(args.real)
    real_lines = []
    for path, origin in sources:
        try:
            r = analyse_real(path)
        except InvalidInput as exc:
            real_lines.append(f"{path.name} ({origin}): rejected: {exc}")
            continue
        if r["duration"] < 5.0:
            real_lines.append(
                f"{path.name} ({origin}): {r['duration']:.1f} s sound effect, skipped"
            )
            continue
        real_lines.append(
            f"{r['name']} ({origin}): {r['duration']:.1f} s, tempo {r['tempo']:.1f} BPM "
            f"(alt {r['alt']:.1f}, confidence {r['conf']:.2f}), {r['meter']}/4, "
            f"{r['beats']} beats ({r['inferred']} inferred), key {r['key']}, "
            f"mood {r['mood']}; sections: {r['sections']}"
        )
    lines, held_lines = table(rows), table(held)
    print("\n".join(lines))
    print()
    print("\n".join(summary))
    print(f"\nheld-out random set (seed {HELDOUT_SEED}):")
    print("\n".join(held_lines))
    print("\n".join(held_summary))
    if real_lines:
        print()
        print("\n".join(real_lines))
    if not args.no_write:
        write_results(lines, summary, held_lines, held_summary, real_lines)
    return 0


def write_results(
    lines: list[str],
    summary: list[str],
    held_lines: list[str],
    held_summary: list[str],
    real: list[str],
) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    text = [
        "# Concept analysis benchmark",
        "",
        "Run: `.venv/bin/python -m bench.concept_accuracy` "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, 2-core machine shared with "
        "other work: timings are noisy, ratios are from the same run).",
        "",
        "Ground truth: 12 songs synthesized by `services/devstack/synth.py` (specs in "
        "`bench/concept_songs.py`); the analysis only sees the samples. `ref` = 60 / median "
        "inter-beat interval of the truth; `off ms` = median signed offset of matched beats "
        "(est - ref); `inf` = beats flagged inferred; `roles` = share of the song whose section "
        "role matches the truth; `segF` = boundary F at +-3 s without the "
        "trivial first/last boundary, `segF*` with them; `meter` = est/ref beats per bar.",
        "",
        "## Summary",
        "",
        *[f"- {s}" for s in summary],
        "",
        "## Per song",
        "",
        "```",
        *lines,
        "```",
        "",
        f"## Held-out random set (seed {HELDOUT_SEED})",
        "",
        "12 random songs from `heldout_songs()` (tempo 70-180, 3/4 or 4/4, swing, humanisation, "
        "section lengths 4-16 bars, levels +-15 %). Seeds 100-300 were used while developing "
        "the structure and key steps and seed 400 was looked at once (it exposed the relative-"
        "key tie-break, which was then widened); seed 500 was first run after that (mean "
        "boundary F 0.981, key 12/12, role agreement 0.89) and re-run after the later "
        "structure changes (harmonic novelty, chord-pattern repeat groups, intro rule; each "
        "chosen on the main set and seeds 100-200) for the figures below.",
        "",
        *[f"- {s}" for s in held_summary],
        "",
        "```",
        *held_lines,
        "```",
        "",
        "## Real recordings",
        "",
    ]
    if real:
        text += [f"- {r}" for r in real]
    else:
        text.append("- none available in this run (see below).")
    text += [
        "",
        "Source search: no PyPI package ships full-length CC-licensed songs in its wheel "
        "(librosa's examples are downloaded at run time via pooch, not allowed here; musdb "
        "downloads its samples too). The pygame 2.6.1 wheel ships one short music loop, "
        "`pygame/examples/data/house_lo.ogg` (7.1 s, 11025 Hz, licence not stated beyond "
        "pygame's LGPL distribution); it is analysed when pygame is installed or when the file is "
        "passed with `--real DIR_OR_WHEEL`; `--fetch-real` downloads the wheel with pip (no "
        "install) and uses it. It is too short for sections to mean "
        "anything. There is no ground truth for it; the onsets measured in the file are "
        "0.22 s apart (eighth notes at ~135 BPM), consistent with the tempo reported.",
        "",
        "## Caveats (read before trusting the numbers)",
        "",
        "- Synthesized songs are far easier than real recordings (clean attacks, exact "
        "repetition, no vocals, no mixing); the humanised songs (timing jitter 6-12 ms, "
        "velocity variation, noise floor) narrow the gap only a little. No real recording with "
        "ground truth was available offline, so these figures are an upper bound.",
        "- The structure thresholds (novelty height/prominence, repeat-group distance) and the "
        "off-beat alternation ratio were chosen while looking at this set; nothing in the code "
        "reads a spec, but the section figures in particular are optimistic.",
        "- Role labels are the weakest part (heuristics on energy, position and repetition): "
        "a loud section that is not repeated can become a chorus, and when a repeat is missed "
        "(a short chorus merged into its neighbour) labels shift. Key estimation can still "
        "confuse relative major/minor when the chord loop is ambiguous (ballad_72_minor).",
        "- The only real recording available is a 7 s loop: it shows the decoding path and the "
        "tempo octave on real audio, nothing about sections or long-range structure.",
        "",
    ]
    RESULTS.write_text("\n".join(text))


if __name__ == "__main__":
    sys.exit(main())
