import sys, importlib.util, numpy as np
from scipy.signal import coherence
spec = importlib.util.spec_from_file_location('an', '/work/survey10/tools/analyze_lib.py')
an = importlib.util.module_from_spec(spec); spec.loader.exec_module(an)
for l in sys.stdin:
    lab, path = l.rstrip('\n').split('\t')
    x, sr, h = an.load(path)
    if x.shape[1] < 2: continue
    f, c = coherence(x[:, 0], x[:, 1], fs=sr, nperseg=4096)
    bands = [(20, 200), (200, 1000), (1000, 4000), (4000, 10000)]
    print('%-34s' % lab[:34], ' '.join('%5.2f' % c[(f >= a) & (f < b)].mean() for a, b in bands))
