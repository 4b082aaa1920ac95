"""The shared spectral front end: one STFT per track, reused by every analysis step.

Computing the spectrogram once (instead of letting each librosa helper recompute it) is most of
what keeps the whole analysis within a few hundredths of the audio's duration.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

SR = 22050
HOP = 256  # 11.6 ms frames: fine enough for beat timing, cheap enough for 20-minute songs
N_FFT = 2048
N_MELS = 96
# Band edges (Hz) for the audio-reactive low/mid/high energies and the band onset envelopes.
LOW_HZ = 200.0
HIGH_HZ = 2500.0


@dataclass
class Frontend:
    samples: np.ndarray
    sr: int
    hop: int
    power: np.ndarray  # (1 + N_FFT/2, frames) power spectrogram
    mel_db: np.ndarray  # (N_MELS, frames)
    onset_env: np.ndarray  # full-band spectral flux (frames,)
    onset_low: np.ndarray  # flux below LOW_HZ: kick and bass
    freqs: np.ndarray

    @property
    def frame_rate(self) -> float:
        return self.sr / self.hop

    @property
    def n_frames(self) -> int:
        return int(self.onset_env.shape[0])

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / self.sr

    def frame_of(self, t: np.ndarray | float) -> np.ndarray:
        idx = np.rint(np.asarray(t, dtype=float) * self.frame_rate).astype(int)
        return np.clip(idx, 0, self.n_frames - 1)


def compute_frontend(samples: np.ndarray, sr: int = SR) -> Frontend:
    stft = librosa.stft(samples, n_fft=N_FFT, hop_length=HOP)
    power = (stft.real**2 + stft.imag**2).astype(np.float32)
    del stft
    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=N_MELS, fmax=sr / 2)
    mel_db = librosa.power_to_db(mel, ref=np.max, top_db=80.0)
    onset_env = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=HOP)
    mel_freqs = librosa.mel_frequencies(n_mels=N_MELS, fmax=sr / 2)
    low_bands = mel_freqs < LOW_HZ
    onset_low = librosa.onset.onset_strength(S=mel_db[low_bands], sr=sr, hop_length=HOP)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=N_FFT)
    return Frontend(
        samples=samples,
        sr=sr,
        hop=HOP,
        power=power,
        mel_db=mel_db,
        onset_env=onset_env.astype(np.float32),
        onset_low=onset_low.astype(np.float32),
        freqs=freqs,
    )
