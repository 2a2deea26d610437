import json, sys, tomllib, numpy as np
sys.path.insert(0, '/work/main/scripts')
import loso_tagger as L
P = '/work/wt10/bench-data/tagset/features'
index, f = L.load(P)
tax = tomllib.loads(L.TAXONOMY.read_text())
clips = L.Clips(index, f, tax.get("silence_dbfs", -60.0))
ids = clips.ids
names = index['class_names']
sc = np.clip(f['scores'], 1e-4, 1 - 1e-4)
logit = np.log(sc / (1 - sc))
# mapping scores per patch
maps = []
mapnames = []
for spec in tax['labels']:
    if not spec.get('classes'): continue
    idx = [names.index(c) for c in spec['classes']]
    p = f['scores'][:, idx]
    v = p.max(axis=1) if spec['aggregate'] == 'max' else 1 - np.prod(1 - p, axis=1)
    maps.append(v); mapnames.append(spec['name'])
maps = np.clip(np.stack(maps, 1), 1e-4, 1 - 1e-4)
maplogit = np.log(maps / (1 - maps))
tax_idx = sorted({names.index(c) for s in tax['labels'] for c in s.get('classes', [])})

def agg(x, ids, stats=('mean',)):
    out = []
    for i in ids:
        r = clips.rows_of[i]
        loud = ~clips.silent[r]
        xr = x[r][loud] if loud.any() else x[r]
        parts = []
        for s in stats:
            if s == 'mean': parts.append(xr.mean(0))
            if s == 'max': parts.append(xr.max(0))
            if s == 'min': parts.append(xr.min(0))
            if s == 'std': parts.append(xr.std(0))
            if s == 'q25': parts.append(np.quantile(xr, .25, 0))
            if s == 'q75': parts.append(np.quantile(xr, .75, 0))
        out.append(np.concatenate(parts))
    return np.array(out, dtype=np.float32)

labels = L.AMBIENCE + [L.NONE]
y = np.array([labels.index(l if l in L.AMBIENCE else L.NONE) for l in clips.label[ids]])
pk = clips.package[ids]; sec = clips.second[ids]

def fit(x, y, lam, iters=300, lr=0.05):
    mean = x.mean(0); std = x.std(0); std[std < 1e-6] = 1
    xs = (x - mean) / std
    k = len(labels)
    counts = np.bincount(y, minlength=k).astype(float)
    sw = 1 / counts[y]; sw /= sw.sum()
    yo = np.eye(k)[y]
    w = np.zeros((x.shape[1], k)); b = np.zeros(k)
    mw=np.zeros_like(w); vw=np.zeros_like(w); mb=np.zeros_like(b); vb=np.zeros_like(b)
    for t in range(1, iters+1):
        z = xs @ w + b; z -= z.max(1, keepdims=True); p = np.exp(z); p /= p.sum(1, keepdims=True)
        g = (p - yo) * sw[:, None]
        gw = xs.T @ g + lam * w; gb = g.sum(0)
        mw=.9*mw+.1*gw; vw=.999*vw+.001*gw*gw; mb=.9*mb+.1*gb; vb=.999*vb+.001*gb*gb
        w -= lr*(mw/(1-.9**t))/(np.sqrt(vw/(1-.999**t))+1e-8); b -= lr*(mb/(1-.9**t))/(np.sqrt(vb/(1-.999**t))+1e-8)
    return mean, std, w, b

def predict(m, x):
    mean, std, w, b = m
    z = ((x - mean) / std) @ w + b
    return z.argmax(1)

def lopo(x, lam):
    pred = np.zeros(len(ids), int)
    for p in sorted(set(pk)):
        test = pk == p
        train = ~test & (sec != p)
        m = fit(x[train], y[train], lam)
        pred[test] = predict(m, x[test])
    return pred

def score(pred, tag):
    truth = [labels[v] if labels[v] != L.NONE else 'other' for v in y]
    pr = [labels[v] if labels[v] != L.NONE else 'other' for v in pred]
    sp = clips.speech[ids]
    amb = np.array([t in L.TARGET for t in truth])
    res = []
    for name, sel in (('alone', amb & ~sp), ('speech', amb & sp)):
        t = [truth[j] for j in np.flatnonzero(sel)]; q = [pr[j] for j in np.flatnonzero(sel)]
        res.append(L.macro(t, q))
    neg = np.array([t == 'other' for t in truth])
    fa = np.mean([pr[j] in L.AMBIENCE for j in np.flatnonzero(neg)])
    per = L.f1_table([truth[j] for j in np.flatnonzero(amb)], [pr[j] for j in np.flatnonzero(amb)], L.TARGET)
    print(f"{tag:40s} alone {res[0]:.3f} speech {res[1]:.3f} false-amb {fa:.3f} | " + ' '.join(f"{k} {v:.2f}" for k, v in per.items()), flush=True)
    return pred

if __name__ == '__main__':
    emb = f['emb']; sig = f['sig']
    sets = {
      'emb mean+sig': lambda: np.hstack([agg(emb, ids), agg(sig, ids)]),
      'maplogit mean/max/q25/q75': lambda: agg(maplogit, ids, ('mean','max','q25','q75')),
      'maplogit + sig': lambda: np.hstack([agg(maplogit, ids, ('mean','max','q25','q75')), agg(sig, ids)]),
      'taxclasses logit mean/max': lambda: agg(logit[:, tax_idx], ids, ('mean','max')),
      'all521 logit mean': lambda: agg(logit, ids),
      'emb mean/std+sig+maplogit': lambda: np.hstack([agg(emb, ids, ('mean','std')), agg(sig, ids), agg(maplogit, ids, ('mean','max'))]),
    }
    which = sys.argv[1:] or list(sets)
    for k in which:
        x = sets[k]()
        for lam in (1e-3, 1e-2, 1e-1):
            score(lopo(x, lam), f"{k} lam={lam}")
