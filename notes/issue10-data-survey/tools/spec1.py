import sys, importlib.util, numpy as np, matplotlib
matplotlib.use('Agg'); import matplotlib.pyplot as plt
spec = importlib.util.spec_from_file_location('an', '/work/survey10/tools/analyze_lib.py')
an = importlib.util.module_from_spec(spec); spec.loader.exec_module(an)
out = sys.argv[1]; fmax = float(sys.argv[2])
items = [l.rstrip('\n').split('\t') for l in sys.stdin if l.strip()]
fig, axs = plt.subplots(len(items), 1, figsize=(16, 2.6 * len(items)), squeeze=False)
for ax, (lab, p) in zip(axs[:, 0], items):
    x, sr, h = an.load(p); m = x.mean(axis=1)
    ax.specgram(m + 1e-9, NFFT=2048, Fs=sr, noverlap=1536, cmap='magma', vmin=-140); ax.set_ylim(0, fmax)
    ax.set_title(lab, fontsize=9); ax.tick_params(labelsize=7)
fig.tight_layout(); fig.savefig(out, dpi=55)
