#!/usr/bin/env python3
"""Derive a float YAMNet graph from roomtone's 8-bit QDQ graph (sead 0.2.1 model.onnx + model.data).

The quantised graph keeps its weights as float initializers that pass through QuantizeLinear ->
DequantizeLinear (fake-quant) at run time, and quantises every activation the same way. This script
removes every QuantizeLinear -> DequantizeLinear pair (consumers of the DQ read the Q's input), the
input DequantizeLinear (input becomes float log-mel [1,1,96,64]) and the output QuantizeLinear
(output `class_scores` becomes float logits; apply a sigmoid for probabilities, as the product does
after dequantising). It adds a second output `embedding` (float [1,1024]): the classifier layer's
input, i.e. the tensor roomtone reads as the embedding from the quantised graph.

With --keep-weight-qdq the weight fake-quant pairs are kept (w8, float activations) instead.

Usage: derive_float_yamnet.py [--keep-weight-qdq] INPUT_MODEL.onnx OUTPUT_MODEL.onnx
The output is one self-contained file (weights embedded); the result is deterministic.
"""
import argparse
import hashlib
import sys

import onnx
from onnx import TensorProto, helper


def derive(src, dst, keep_weight_qdq=False):
    model = onnx.load(src, load_external_data=True)  # reads model.data next to src
    g = model.graph
    inits = {i.name for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}

    def consumers(name):
        return [n for n in g.node if name in n.input]

    if len(g.input) != 1 or len(g.output) != 1:
        sys.exit("expected one input and one output")
    in_name, out_name = g.input[0].name, g.output[0].name

    rename = {}  # tensor name -> replacement, applied to node inputs
    drop = set()  # id() of nodes to delete

    # 1. Input: DequantizeLinear(audio) -> float input.
    for n in consumers(in_name):
        if n.op_type != "DequantizeLinear":
            sys.exit(f"input {in_name!r} feeds a {n.op_type}, expected DequantizeLinear")
        rename[n.output[0]] = in_name
        drop.add(id(n))

    # 2. QuantizeLinear -> DequantizeLinear pairs.
    for dq in g.node:
        if dq.op_type != "DequantizeLinear" or id(dq) in drop:
            continue
        q = producer.get(dq.input[0])
        if q is None or q.op_type != "QuantizeLinear":
            continue
        is_weight = q.input[0] in inits
        if is_weight and keep_weight_qdq:
            continue
        rename[dq.output[0]] = q.input[0]
        drop.add(id(dq))
        if all(id(c) in drop for c in consumers(q.output[0])):
            drop.add(id(q))

    # 3. Output: QuantizeLinear(logits) -> float logits, renamed to the old output name.
    out_q = producer[out_name]
    if out_q.op_type != "QuantizeLinear":
        sys.exit(f"output {out_name!r} is written by {out_q.op_type}, expected QuantizeLinear")
    logits = out_q.input[0]
    drop.add(id(out_q))
    gemm = producer[logits]
    emb_src = gemm.input[0]  # the classifier's input (before renaming), as roomtone reads it

    def resolve(name):
        while name in rename:
            name = rename[name]
        return name

    kept = [n for n in g.node if id(n) not in drop]
    for n in kept:
        for k, name in enumerate(n.input):
            n.input[k] = resolve(name)
    # The classifier writes the output name directly; the embedding gets its own Identity output.
    for n in kept:
        for k, name in enumerate(n.output):
            if name == logits:
                n.output[k] = out_name
    emb_float = resolve(emb_src)
    kept.append(helper.make_node("Identity", [emb_float], ["embedding"], name="embedding_out"))
    del g.node[:]
    g.node.extend(kept)

    # Float input and outputs.
    shape_in = [d.dim_value for d in g.input[0].type.tensor_type.shape.dim]
    g.input[0].type.tensor_type.elem_type = TensorProto.FLOAT
    del g.output[:]
    g.output.extend([
        helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [1, 521]),
        helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 1024]),
    ])
    del g.value_info[:]
    assert shape_in == [1, 1, 96, 64], shape_in

    # Drop initializers nothing reads any more (quantisation scales and zero points).
    used = {i for n in g.node for i in n.input}
    keep_inits = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep_inits)
    for i in g.initializer:  # embed the weights: one self-contained file
        if i.data_location == TensorProto.EXTERNAL:
            raise RuntimeError(f"{i.name} still external")

    # Topological order is preserved (nodes kept in original order). Check and save.
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, dst, save_as_external_data=False)
    with open(dst, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep-weight-qdq", action="store_true",
                    help="keep the weights' QuantizeLinear/DequantizeLinear (w8, float activations)")
    ap.add_argument("input")
    ap.add_argument("output")
    a = ap.parse_args()
    print(derive(a.input, a.output, a.keep_weight_qdq), a.output)
