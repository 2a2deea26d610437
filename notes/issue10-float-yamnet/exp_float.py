"""LOSO with the float (and other) YAMNet embeddings; same signal features, silence mask, clips."""
import sys, numpy as np
sys.argv = sys.argv[:1] + ['__none__']  # don't let exp.py parse ours
sys.path.insert(0, '/work/yamf')
import exp as E
N = len(E.f['emb'])
embs = {'product q': E.f['emb']}
for k in ('q', 'float', 'w8'):
    embs[{'q': 'python q', 'float': 'float', 'w8': 'w8/float-act'}[k]] = np.fromfile(f'/work/yamf/emb_{k}.f32', np.float32).reshape(N, 1024)
sig = E.f['sig']
which = sys.stdin.read().split(',') if False else None
import os
sel = os.environ.get('EMBS', 'product q,python q,float,w8/float-act').split(',')
for name in sel:
    e = embs[name]
    x = np.hstack([E.agg(e, E.ids), E.agg(sig, E.ids)])
    for lam in (0.03, 0.1, 0.3):
        E.score(E.lopo(x, lam), f"{name} emb mean+sig lam={lam}")
    x = np.hstack([E.agg(e, E.ids, ('mean', 'std')), E.agg(sig, E.ids)])
    for lam in (0.03, 0.1, 0.3):
        E.score(E.lopo(x, lam), f"{name} emb mean/std+sig lam={lam}")
