"""Python replica of roomtone's YAMNet front end (decode -> mono mean -> 16 kHz -> log-mel)."""
import wave
import numpy as np

SR = 16000
N_FFT, WIN, HOP, N_MELS = 512, 400, 160, 64
FMIN, FMAX, OFFSET = 125.0, 7500.0, 0.001
PATCH = 96


def read_wav(path):
    with wave.open(str(path), 'rb') as w:
        ch, sw, sr, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
        raw = w.readframes(n)
    assert sw == 2, (path, sw)
    x = np.frombuffer(raw, '<i2').astype(np.float32) / 32768.0
    x = x.reshape(-1, ch)
    mono = x[:, 0].copy()
    for c in range(1, ch):
        mono += x[:, c]
    if ch > 1:
        mono *= np.float32(1.0 / ch)
    return mono, sr


def resample(x, sr, to=SR):
    """Near-ideal FFT resampling of the whole signal (zero-padded against wrap-around); output length
    round(n * to / sr), aligned to the input like roomtone's delay-compensated resampler."""
    if sr == to:
        return x.astype(np.float32)
    n = len(x)
    n_out = int(round(n * to / sr))
    pad = int(sr)  # 1 s of zeros on each side
    from math import gcd
    g = gcd(sr, to)
    # pad total length to a multiple of sr/g so the output length is integral
    tot = n + 2 * pad
    step = sr // g
    tot = -(-tot // step) * step
    xp = np.zeros(tot)
    xp[pad:pad + n] = x
    X = np.fft.rfft(xp)
    m = tot * to // sr
    nb = m // 2 + 1
    Y = np.zeros(nb, complex)
    k = min(nb, len(X))
    Y[:k] = X[:k]
    # soft roll-off near the new Nyquist, like a windowed-sinc low-pass at ~0.995 of it
    f = np.arange(nb) / (m / 2.0)  # fraction of new Nyquist
    Y *= np.clip((1.0 - f) / 0.01, 0, 1)  # linear taper over the top 1 %
    y = np.fft.irfft(Y, m) * (m / tot)
    p_out = pad * to // sr if (pad * to) % sr == 0 else pad * to / sr
    s = int(round(pad * to / sr))
    return y[s:s + n_out].astype(np.float32)


def mel_filters():
    hz2mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
    mel2hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    fft_f = np.linspace(0, SR / 2, 1 + N_FFT // 2)
    mel_f = mel2hz(np.linspace(hz2mel(FMIN), hz2mel(FMAX), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_f[None, :]
    w = np.zeros((N_MELS, len(fft_f)))
    for i in range(N_MELS):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        w[i] = np.maximum(0, np.minimum(lower, upper))
    return w.astype(np.float32)


_W = mel_filters()
_win = np.zeros(N_FFT, np.float32)
_left = (N_FFT - WIN) // 2
_win[_left:_left + WIN] = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WIN) / WIN)).astype(np.float32)


def log_mel(x):
    if len(x) < N_FFT:
        return np.zeros((0, N_MELS), np.float32)
    nf = 1 + (len(x) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(nf)[:, None]
    fr = x[idx] * _win
    mag = np.abs(np.fft.rfft(fr, axis=1)).astype(np.float32)
    return np.log(mag @ _W.T + OFFSET).astype(np.float32)


def patch_at(mel, start_frame):
    p = mel[start_frame:start_frame + PATCH]
    if len(p) < PATCH:
        p = np.concatenate([p, np.full((PATCH - len(p), N_MELS), np.log(np.float32(OFFSET)), np.float32)])
    return p
