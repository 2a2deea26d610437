#!/usr/bin/env python3
"""Derive a DeepFilterNet3 graph whose GRU state can be carried from one run to the next (run by
scripts/setup.sh for enc.onnx, erb_dec.onnx and df_dec.onnx; pins: `derive_requirements` in
models/dfn3.toml).

The exported graphs start every GRU from zeros (their `initial_h` is a ConstantOfShape/Slice of zeros)
and hide the hidden states, so a long file run in chunks restarts the recurrent state at every chunk.
This rewrite changes nothing else: GRU node i (in graph order) takes its `initial_h` from a new input
`h0_i` [1, 1, 256], and its full output sequence Y [S, 1, 1, 256] (the hidden state after every frame)
becomes a new output `hseq_i`. Fed zeros, the graph computes exactly what the original computes.

Usage: dfn3_stateful.py IN.onnx OUT.onnx
"""
import sys

import onnx
from onnx import TensorProto, helper


def rewrite(model: onnx.ModelProto) -> int:
    g = model.graph
    grus = [n for n in g.node if n.op_type == "GRU"]
    for i, n in enumerate(grus):
        hidden = next(helper.get_attribute_value(a) for a in n.attribute if a.name == "hidden_size")
        h0 = f"h0_{i}"
        g.input.append(helper.make_tensor_value_info(h0, TensorProto.FLOAT, [1, 1, hidden]))
        while len(n.input) < 6:
            n.input.append("")
        n.input[5] = h0
        hseq = f"hseq_{i}"
        g.node.append(helper.make_node("Identity", [n.output[0]], [hseq], name=f"hseq_identity_{i}"))
        g.output.append(helper.make_tensor_value_info(hseq, TensorProto.FLOAT, ["S", 1, 1, hidden]))
    # The zero-state producers are now unused: drop them (and whatever only they used).
    needed = {o.name for o in g.output}
    keep = []
    for n in reversed(list(g.node)):
        if any(o in needed for o in n.output):
            keep.append(n)
            needed.update(x for x in n.input if x)
    kept = list(reversed(keep))
    del g.node[:]
    g.node.extend(kept)
    return len(grus)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    model = onnx.load(sys.argv[1])
    count = rewrite(model)
    if count == 0:
        print(f"{sys.argv[1]}: no GRU node found", file=sys.stderr)
        return 1
    onnx.checker.check_model(model)
    onnx.save(model, sys.argv[2])
    print(f"{sys.argv[2]}: {count} GRU state(s) exposed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
