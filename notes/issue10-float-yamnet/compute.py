import json, sys, time, numpy as np
sys.path.insert(0, '/work/yamf')
import frontend as F, models as M
P = '/work/wt10/bench-data/tagset/'
meta = json.load(open(P + 'features.json'))
rl = meta['row_len']
feat = np.memmap(P + 'features.f32', np.float32, 'r').reshape(-1, rl)
clips = meta['clips']
ms = {'q': M.Quant(), 'float': M.Float(), 'w8': M.Float('/work/yamf/yamnet_w8.onnx')}
N = len(feat)
out = {k: np.zeros((N, 1024), np.float32) for k in ms}
outs = {k: np.zeros((N, 521), np.float32) for k in ms}
cid = feat[:, 0].astype(int); starts = feat[:, 1]
assert np.all(np.diff(cid) >= 0)
bounds = np.searchsorted(cid, np.arange(len(clips) + 1))
t0 = time.time()
for ci, c in enumerate(clips):
    x, sr = F.read_wav(P + c['path'])
    mel = F.log_mel(F.resample(x, sr))
    for r in range(bounds[ci], bounds[ci + 1]):
        p = F.patch_at(mel, int(round(starts[r] * 100)))
        for k, m in ms.items():
            s, e = m.run(p)
            out[k][r] = e; outs[k][r] = s
    if ci % 100 == 0:
        print(ci, f"{time.time()-t0:.0f}s", flush=True)
for k in ms:
    out[k].tofile(f'/work/yamf/emb_{k}.f32'); outs[k].tofile(f'/work/yamf/scores_{k}.f32')
print('done', time.time() - t0)
