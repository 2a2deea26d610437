#!/usr/bin/env python3
"""Derive models/convtasnet/convtasnet_int8.onnx from convtasnet.onnx (run by scripts/setup.sh).

Needs onnx and onnxruntime (the set-up installs exactly the pinned versions into vendor/quantise-pkgs and runs it with that PYTHONPATH; the pins are
`derive_requirements` in models/convtasnet.toml). Three steps, all deterministic, so the output is
checked against the sha256 in the manifest:

1. PRelu with a single slope -> LeakyRelu(alpha = slope): the same function, but ONNX Runtime's PRelu
   broadcasts a [1, 1] slope slowly (30 % of the float model's time).
2. Every 1x1, group-1, stride-1 Conv over [1, C, T] -> Transpose [1, T, C], MatMul with W^T [Cin, Cout],
   Add bias, Transpose back: the same function, in a form whose weights ONNX Runtime can quantise into
   its int8 GEMM (ConvInteger is not faster than the float Conv).
3. onnxruntime.quantization.quantize_dynamic on the MatMuls only: int8 weights (per tensor), activations
   quantised at run time (uint8).

Usage: quantise_convtasnet.py IN.onnx OUT.onnx
"""
import sys

import onnx
from onnx import helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic


def rewrite(model: onnx.ModelProto) -> tuple[int, int]:
    g = model.graph
    init = {t.name: t for t in g.initializer}
    nodes, leaky, matmul = [], 0, 0
    for n in g.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "PRelu" and n.input[1] in init and numpy_helper.to_array(init[n.input[1]]).size == 1:
            alpha = float(numpy_helper.to_array(init[n.input[1]]).reshape(-1)[0])
            nodes.append(helper.make_node("LeakyRelu", [n.input[0]], list(n.output), name=n.name, alpha=alpha))
            leaky += 1
        elif (
            n.op_type == "Conv"
            and n.input[1] in init
            and list(init[n.input[1]].dims)[2:] == [1]
            and attrs.get("group", 1) == 1
            and attrs.get("strides", [1]) == [1]
            and attrs.get("dilations", [1]) == [1]
            and attrs.get("pads", [0, 0]) == [0, 0]
        ):
            k = matmul
            w = numpy_helper.to_array(init[n.input[1]])[:, :, 0]
            g.initializer.append(numpy_helper.from_array(w.T.copy(), f"mm{k}_w"))
            nodes.append(helper.make_node("Transpose", [n.input[0]], [f"mm{k}_in"], perm=[0, 2, 1]))
            nodes.append(helper.make_node("MatMul", [f"mm{k}_in", f"mm{k}_w"], [f"mm{k}_mm"]))
            last = f"mm{k}_mm"
            if len(n.input) > 2 and n.input[2]:
                b = numpy_helper.to_array(init[n.input[2]])
                g.initializer.append(numpy_helper.from_array(b.copy(), f"mm{k}_b"))
                nodes.append(helper.make_node("Add", [last, f"mm{k}_b"], [f"mm{k}_add"]))
                last = f"mm{k}_add"
            nodes.append(helper.make_node("Transpose", [last], list(n.output), perm=[0, 2, 1]))
            matmul += 1
        else:
            nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    return leaky, matmul


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    src, dst = sys.argv[1], sys.argv[2]
    model = onnx.load(src)
    leaky, matmul = rewrite(model)
    onnx.checker.check_model(model)
    tmp = dst + ".float.onnx"
    onnx.save(model, tmp)
    quantize_dynamic(tmp, dst, op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
    import os

    os.unlink(tmp)
    print(f"{dst}: {leaky} PRelu -> LeakyRelu, {matmul} 1x1 Conv -> MatMul, MatMuls quantised to int8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
