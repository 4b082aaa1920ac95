"""The block-wise front end matches librosa's one-shot STFT features exactly."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

import services.concept.frontend as frontend


def test_blockwise_mel_and_curves_match_librosa(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.random.default_rng(0).standard_normal(22050 * 5 + 123).astype(np.float32) * 0.3
    monkeypatch.setattr(frontend, "BLOCK_FRAMES", 64)  # many blocks, a partial last one
    fe = frontend.compute_frontend(x)
    power = (
        np.abs(librosa.stft(x, n_fft=frontend.N_FFT, hop_length=frontend.HOP, pad_mode="constant"))
        ** 2
    )
    mel = librosa.feature.melspectrogram(S=power, sr=22050, n_mels=frontend.N_MELS, fmax=11025)
    ref = librosa.power_to_db(mel, ref=np.max, top_db=80.0)
    assert fe.mel_db.shape == ref.shape
    assert np.abs(fe.mel_db - ref).max() < 1e-3
    assert fe.n_frames == power.shape[1]
    # Curve samples: mean power over 4 frames, summed over the spectrum.
    total = power[:, :4].mean(axis=1).sum()
    assert fe.power_total[0] == pytest.approx(total, rel=1e-4)
    assert fe.power_total.size == int(np.ceil(power.shape[1] / 4))
    # Chroma is per-frame max-normalised and ignores bins below 100 Hz.
    assert fe.chroma.shape == (12, power.shape[1])
    assert np.allclose(fe.chroma.max(axis=0), 1.0, atol=1e-5)


def test_low_tone_has_no_chroma_but_a_low_band() -> None:
    t = np.arange(22050 * 2) / 22050
    x = (0.5 * np.sin(2 * np.pi * 55.0 * t)).astype(np.float32)  # A1, below the chroma range
    fe = frontend.compute_frontend(x)
    assert float(np.median(fe.power_low)) > 100 * float(np.median(fe.power_high))
    a4 = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    fe4 = frontend.compute_frontend(a4)
    assert int(np.argmax(fe4.chroma.mean(axis=1))) == 9  # A
