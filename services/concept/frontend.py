"""The shared spectral front end: one STFT per track, reused by every analysis step.

Computing the spectrogram once (instead of letting each librosa helper recompute it) is most of
what keeps the whole analysis within a few thousandths of the audio's duration. The STFT is
taken in blocks and reduced on the fly (mel bands, chroma, band/loudness sums), so memory stays
small even for a 20-minute song: the full complex spectrogram of 20 minutes would be ~850 MB.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
import scipy.fft

SR = 22050
HOP = 256  # 11.6 ms frames: fine enough for beat timing, cheap enough for 20-minute songs
N_FFT = 2048
N_MELS = 96
# Band edges (Hz) for the audio-reactive low/mid/high energies and the band onset envelopes.
LOW_HZ = 200.0
HIGH_HZ = 2500.0
KICK_HZ = 100.0
# Curves (intensity, bands, brightness) are averaged over this many frames: 4 x 11.6 ms.
CURVE_DECIMATE = 4
# Below ~100 Hz an STFT bin spans more than a semitone: leave the bass out of the chroma.
CHROMA_MIN_HZ = 100.0
BLOCK_FRAMES = 4096  # ~47 s per STFT block (a multiple of CURVE_DECIMATE)


@dataclass
class Frontend:
    samples: np.ndarray
    sr: int
    hop: int
    mel_db: np.ndarray  # (N_MELS, frames), dB re the track's loudest bin
    onset_env: np.ndarray  # full-band spectral flux (frames,)
    onset_low: np.ndarray  # flux below LOW_HZ: kick and bass
    onset_mid: np.ndarray  # flux LOW_HZ..HIGH_HZ: snare/clap body, chords, voice
    onset_sub: np.ndarray  # flux below KICK_HZ: the kick drum without most bass notes
    chroma: np.ndarray  # (12, frames), per-frame max-normalised
    # Per curve sample (CURVE_DECIMATE frames): power sums, all linear.
    power_a: np.ndarray  # A-weighted total (loudness-like)
    power_total: np.ndarray
    power_low: np.ndarray  # 20 Hz .. LOW_HZ
    power_mid: np.ndarray  # LOW_HZ .. HIGH_HZ
    power_high: np.ndarray  # HIGH_HZ .. Nyquist
    centroid_hz: np.ndarray

    @property
    def frame_rate(self) -> float:
        return self.sr / self.hop

    @property
    def curve_rate(self) -> float:
        return self.frame_rate / CURVE_DECIMATE

    @property
    def n_frames(self) -> int:
        return int(self.onset_env.shape[0])

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / self.sr

    def frame_of(self, t: np.ndarray | float) -> np.ndarray:
        idx = np.rint(np.asarray(t, dtype=float) * self.frame_rate).astype(int)
        return np.clip(idx, 0, self.n_frames - 1)


def _decimate(x: np.ndarray, k: int) -> np.ndarray:
    """Mean over groups of k columns (a last partial group is averaged on its own)."""
    n = x.shape[-1]
    full = (n // k) * k
    parts = []
    if full:
        parts.append(x[..., :full].reshape(*x.shape[:-1], -1, k).mean(axis=-1))
    if n > full:
        parts.append(x[..., full:].mean(axis=-1, keepdims=True))
    return np.concatenate(parts, axis=-1)


def compute_frontend(samples: np.ndarray, sr: int = SR) -> Frontend:
    n_frames = 1 + samples.size // HOP
    # Same framing as librosa.stft(center=True, pad_mode="constant"), block by block.
    x = samples.astype(np.float32, copy=False)
    half = N_FFT // 2
    freqs = librosa.fft_frequencies(sr=sr, n_fft=N_FFT)
    mel_fb = librosa.filters.mel(sr=sr, n_fft=N_FFT, n_mels=N_MELS, fmax=sr / 2)
    chroma_fb = librosa.filters.chroma(sr=sr, n_fft=N_FFT, tuning=0.0)
    chroma_fb = chroma_fb * (freqs >= CHROMA_MIN_HZ)[None, :]
    a_weight = librosa.db_to_power(librosa.A_weighting(np.maximum(freqs, 1.0)))
    bands = [
        (freqs >= 20.0) & (freqs < LOW_HZ),
        (freqs >= LOW_HZ) & (freqs < HIGH_HZ),
        freqs >= HIGH_HZ,
    ]
    # Every per-frame reduction of the power spectrum is linear: one matrix, one product per
    # block (mel bands, chroma, then A-weighted / total / band powers and the centroid's sum).
    curve_w = np.stack([a_weight, np.ones_like(freqs), *bands, freqs]).astype(np.float32)
    weights = np.concatenate([mel_fb, chroma_fb, curve_w]).astype(np.float32)
    n_curves = curve_w.shape[0]
    mel = np.empty((N_MELS, n_frames), dtype=np.float32)
    chroma = np.empty((12, n_frames), dtype=np.float32)
    sums = np.empty((n_curves, n_frames), dtype=np.float32)
    window = librosa.filters.get_window("hann", N_FFT, fftbins=True).astype(np.float32)
    for f0 in range(0, n_frames, BLOCK_FRAMES):
        f1 = min(n_frames, f0 + BLOCK_FRAMES)
        # Samples of padded[f0*HOP : (f1-1)*HOP + N_FFT] without materialising the padded copy.
        a, b = f0 * HOP - half, (f1 - 1) * HOP + N_FFT - half
        seg = x[max(a, 0) : min(b, x.size)]
        if a < 0 or b > x.size:
            seg = np.pad(seg, (max(0, -a), max(0, b - x.size)))
        frames = librosa.util.frame(seg, frame_length=N_FFT, hop_length=HOP)
        spec = scipy.fft.rfft(frames * window[:, None], axis=0)  # float32 -> complex64
        power = spec.real**2
        power += spec.imag**2
        del spec, frames
        out = weights @ power
        mel[:, f0:f1] = out[:N_MELS]
        chroma_raw = out[N_MELS : N_MELS + 12]
        chroma[:, f0:f1] = chroma_raw / (chroma_raw.max(axis=0, keepdims=True) + 1e-10)
        sums[:, f0:f1] = out[N_MELS + 12 :]
    # Curve samples are means over CURVE_DECIMATE frames (blocks are multiples of it).
    curve = _decimate(sums.astype(np.float64), CURVE_DECIMATE)
    total = curve[1]
    cat = [curve[0], total, curve[2], curve[3], curve[4], curve[5] / (total + 1e-10)]
    mel_db = librosa.power_to_db(mel, ref=float(mel.max()) or 1.0, top_db=80.0)
    onset_env = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=HOP)
    mel_freqs = librosa.mel_frequencies(n_mels=N_MELS, fmax=sr / 2)
    onset_low = librosa.onset.onset_strength(S=mel_db[mel_freqs < LOW_HZ], sr=sr, hop_length=HOP)
    mid_band = (mel_freqs >= LOW_HZ) & (mel_freqs < HIGH_HZ)
    onset_mid = librosa.onset.onset_strength(S=mel_db[mid_band], sr=sr, hop_length=HOP)
    onset_sub = librosa.onset.onset_strength(S=mel_db[mel_freqs < KICK_HZ], sr=sr, hop_length=HOP)
    return Frontend(
        samples=samples,
        sr=sr,
        hop=HOP,
        mel_db=mel_db,
        onset_env=onset_env.astype(np.float32),
        onset_low=onset_low.astype(np.float32),
        onset_mid=onset_mid.astype(np.float32),
        onset_sub=onset_sub.astype(np.float32),
        chroma=chroma,
        power_a=cat[0],
        power_total=cat[1],
        power_low=cat[2],
        power_mid=cat[3],
        power_high=cat[4],
        centroid_hz=cat[5],
    )
