import sys, io, zipfile
sys.path.insert(0, '/work/survey10/tools')
import numpy as np, matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import importlib.util
spec = importlib.util.spec_from_file_location('an', '/work/survey10/tools/analyze_lib.py')
an = importlib.util.module_from_spec(spec); spec.loader.exec_module(an)
out = sys.argv[1]; maxs = float(sys.argv[2]) if len(sys.argv) > 2 else 30
items = [l.rstrip('\n').split('\t') for l in sys.stdin if l.strip()]
n = len(items); cols = 3; rows = (n + cols - 1) // cols
fig, axs = plt.subplots(rows, cols, figsize=(6 * cols, 2.3 * rows), squeeze=False)
for ax, (label, path) in zip(axs.flat, items):
    x, sr, h = an.load(path)
    m = x.mean(axis=1)[: int(maxs * sr)]
    nfft = 1024 if sr > 30000 else 512
    ax.specgram(m + 1e-9, NFFT=nfft, Fs=sr, noverlap=nfft // 2, cmap='magma', vmin=-140)
    ax.set_title('%s  (%.1fs %dHz %dch)' % (label[:60], x.shape[0] / sr, sr, x.shape[1]), fontsize=8)
    ax.tick_params(labelsize=6); ax.set_ylim(0, min(sr / 2, 16000))
for ax in list(axs.flat)[n:]:
    ax.axis('off')
fig.tight_layout(); fig.savefig(out, dpi=60)
