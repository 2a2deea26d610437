import sys, time, numpy as np
sys.path.insert(0, '/work/yamf')
import models as M
rng = np.random.default_rng(0)
patches = [rng.normal(-4, 2, (96, 64)).astype(np.float32) for _ in range(200)]
for name, m in (('quantised w8a8', M.Quant()), ('float', M.Float()), ('w8 weights, float act', M.Float('/work/yamf/yamnet_w8.onnx'))):
    for p in patches[:20]: m.run(p)
    best = []
    for rep in range(3):
        t = time.perf_counter()
        for p in patches: m.run(p)
        best.append((time.perf_counter() - t) / len(patches) * 1e3)
    print(f"{name:24s} {min(best):.2f} ms/patch (runs {', '.join(f'{b:.2f}' for b in best)})", flush=True)
