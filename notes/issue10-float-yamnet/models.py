import numpy as np, onnx, onnxruntime as ort
from onnx import numpy_helper, helper, TensorProto
Q = '/work/main/models/yamnet/model.onnx'

def opts():
    o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return o

class Quant:
    def __init__(self):
        m = onnx.load(Q, load_external_data=True)
        g = m.graph
        inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
        dq = [n for n in g.node if n.op_type == 'DequantizeLinear' and n.input[0] == g.input[0].name][0]
        self.in_s, self.in_z = float(inits[dq.input[1]]), float(inits[dq.input[2]])
        oq = [n for n in g.node if n.output[0] == g.output[0].name][0]
        self.out_s, self.out_z = float(inits[oq.input[1]]), float(inits[oq.input[2]])
        gemm = [n for n in g.node if oq.input[0] in n.output][0]
        self.emb_name = gemm.input[0]
        g.output.append(helper.make_tensor_value_info(self.emb_name, TensorProto.FLOAT, None))
        self.sess = ort.InferenceSession(m.SerializeToString(), opts())
        self.in_name = g.input[0].name; self.out_name = g.output[0].name
    def run(self, patch):
        x = np.clip(np.floor(patch / self.in_s + self.in_z + 0.5), 0, 255).astype(np.uint8)  # round half up ~ Rust round for x>=0
        q, e = self.sess.run([self.out_name, self.emb_name], {self.in_name: x.reshape(1, 1, 96, 64)})
        logit = self.out_s * (q.astype(np.float32) - self.out_z)
        return 1 / (1 + np.exp(-logit[0])), e.reshape(-1)

class Float:
    def __init__(self, path='/work/yamf/yamnet_float.onnx'):
        self.sess = ort.InferenceSession(path, opts())
    def run(self, patch):
        l, e = self.sess.run(['class_scores', 'embedding'], {'audio': patch.reshape(1, 1, 96, 64).astype(np.float32)})
        return 1 / (1 + np.exp(-l[0])), e.reshape(-1)
