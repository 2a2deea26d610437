import json, numpy as np
P = '/work/wt10/bench-data/tagset/'
meta = json.load(open(P + 'features.json')); rl = meta['row_len']
feat = np.memmap(P + 'features.f32', np.float32, 'r').reshape(-1, rl)
N = len(feat)
pe = np.asarray(feat[:, 2:1026]); ps = np.asarray(feat[:, 1037:1558])
E = {k: np.fromfile(f'emb_{k}.f32', np.float32).reshape(N, 1024) for k in ('q', 'float', 'w8')}
S = {k: np.fromfile(f'scores_{k}.f32', np.float32).reshape(N, 521) for k in ('q', 'float', 'w8')}
def rowcorr(a, b):
    a = a - a.mean(1, keepdims=True); b = b - b.mean(1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1) + 1e-30)
loud = feat[:, 1026] >= -60
for name, a, b, sa, sb in (('python-q vs product', E['q'], pe, S['q'], ps), ('float vs product-q', E['float'], pe, S['float'], ps),
                           ('w8 vs product-q', E['w8'], pe, S['w8'], ps), ('float vs w8', E['float'], E['w8'], S['float'], S['w8'])):
    c = rowcorr(a, b); d = np.abs(a - b).max(1); sc = rowcorr(sa, sb); sd = np.abs(sa - sb).max(1)
    ex = np.mean(d == 0)
    print(f"{name:22s} emb corr median {np.median(c):.4f} p5 {np.percentile(c,5):.4f} min {c.min():.4f} | emb exact {ex:.3f} | "
          f"scores corr median {np.median(sc):.4f} p5 {np.percentile(sc,5):.4f}; max|dp| median {np.median(sd):.3f} p95 {np.percentile(sd,95):.3f} max {sd.max():.3f}"
          f" | top1 agree {np.mean(sa.argmax(1)==sb.argmax(1)):.3f}")
# per source rate for python-q vs product
sr = np.array([int(c['sample_rate']) for c in meta['clips']])[feat[:, 0].astype(int)]
d = np.abs(E['q'] - pe).max(1)
for r in sorted(set(sr)):
    m = sr == r
    print(f"  rate {r}: patches {m.sum()} exact {np.mean(d[m]==0):.3f} emb corr median {np.median(rowcorr(E['q'][m], pe[m])):.4f}")
