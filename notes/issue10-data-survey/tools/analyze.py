#!/usr/bin/env python3
"""Measure audio files for the ambience survey.

Input lines (stdin): PKG<TAB>PATH  where PATH is a file on disk, or ZIPFILE::MEMBER.
Output TSV (stdout): pkg path dur sr ch sha256 rms_db peak chcorr rolloff95 flat tstd rep replag
  rms_db    : RMS of the mono downmix, dBFS
  chcorr    : correlation L/R (1.000 => dual mono); '-' for mono
  rolloff95 : frequency below which 95 % of the energy lies (Hz)
  flat      : median spectral flatness (0 tonal .. 1 white noise)
  tstd      : std dev (dB) of 100 ms frame energies (stationarity)
  rep       : max correlation of the 20 ms log-band-energy sequence with itself at lags 0.5 s .. dur-1 s
              (close to 1 => a segment is repeated sample-exactly or nearly, i.e. copy/paste loop)
  replag    : the lag (s) of that maximum
"""
import sys, io, hashlib, zipfile, subprocess
import numpy as np
import soundfile as sf

from analyze_lib import load  # one reader for all the survey tools

def feats(x, sr):
    n, ch = x.shape
    m = x.mean(axis=1).astype(np.float64)
    rms = np.sqrt(np.mean(m ** 2)) + 1e-12
    peak = float(np.max(np.abs(x))) if n else 0.0
    chcorr = '-'
    if ch >= 2:
        a, b = x[:, 0].astype(np.float64), x[:, 1].astype(np.float64)
        d = np.sqrt(np.sum(a * a) * np.sum(b * b)) + 1e-20
        chcorr = '%.3f' % (np.sum(a * b) / d)
    # STFT
    nfft = 1024
    hop = max(1, int(0.02 * sr))
    if n < nfft * 2:
        return 20 * np.log10(rms), peak, chcorr, 0, 0, 0, 0, 0
    frames = np.lib.stride_tricks.sliding_window_view(m, nfft)[::hop]
    S = np.abs(np.fft.rfft(frames * np.hanning(nfft), axis=1)) ** 2
    f = np.fft.rfftfreq(nfft, 1 / sr)
    tot = S.sum(axis=0)
    c = np.cumsum(tot) / (tot.sum() + 1e-20)
    roll = float(f[np.searchsorted(c, 0.95)])
    flat = np.exp(np.mean(np.log(S[:, 1:] + 1e-12), axis=1)) / (np.mean(S[:, 1:], axis=1) + 1e-12)
    flat = float(np.median(flat))
    e = S.sum(axis=1)
    k = max(1, int(0.1 / 0.02))
    e100 = e[: len(e) // k * k].reshape(-1, k).mean(axis=1)
    tstd = float(np.std(10 * np.log10(e100 + 1e-12)))
    # repetition: 24 log bands
    edges = np.geomspace(50, min(sr / 2, 16000), 25)
    B = np.stack([S[:, (f >= lo) & (f < hi)].sum(axis=1) for lo, hi in zip(edges[:-1], edges[1:])], axis=1)
    L = np.log(B + 1e-10)
    L = L - L.mean(axis=0)
    T = L.shape[0]
    best, bestlag = 0.0, 0.0
    lo = int(0.5 / 0.02)
    hi = T - int(1.0 / 0.02)
    # FFT-based autocorrelation summed over bands, normalised by overlap energy
    if hi > lo:
        nf = 1 << int(np.ceil(np.log2(2 * T)))
        F = np.fft.rfft(L, nf, axis=0)
        ac = np.fft.irfft((F * np.conj(F)).sum(axis=1), nf)[:T]
        en = np.cumsum((L ** 2).sum(axis=1))
        tot_e = en[-1]
        for lag in range(lo, hi):
            # energy of L[0:T-lag] and L[lag:T]
            e1 = en[T - lag - 1]
            e2 = tot_e - en[lag - 1]
            r = ac[lag] / (np.sqrt(e1 * e2) + 1e-12)
            if r > best:
                best, bestlag = r, lag * 0.02
    return 20 * np.log10(rms), peak, chcorr, roll, flat, tstd, best, bestlag

def main():
    print('\t'.join(['pkg', 'path', 'dur', 'sr', 'ch', 'sha256', 'rms_db', 'peak', 'chcorr', 'rolloff95', 'flat', 'tstd', 'rep', 'replag']))
    for line in sys.stdin:
        line = line.rstrip('\n')
        if not line:
            continue
        pkg, path = line.split('\t', 1)
        try:
            x, sr, h = load(path)
            r = feats(x, sr)
            print('\t'.join([pkg, path, '%.2f' % (x.shape[0] / sr), str(sr), str(x.shape[1]), h,
                             '%.1f' % r[0], '%.3f' % r[1], r[2], '%.0f' % r[3], '%.3f' % r[4], '%.1f' % r[5],
                             '%.3f' % r[6], '%.2f' % r[7]]), flush=True)
        except Exception as ex:
            print('\t'.join([pkg, path, 'ERR', str(ex)[:80]]), flush=True)

main()
