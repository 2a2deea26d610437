//! Just enough of the ONNX protobuf format to read quantisation parameters out of a graph.
//!
//! ONNX Runtime does not expose initialiser values, and a protobuf code generator for the whole ONNX
//! schema would be far more than the four scalars roomtone needs, so this walks the wire format
//! directly: `ModelProto.graph` (7) → `GraphProto.node` (1) and `.initializer` (5) → `NodeProto`
//! input (1), output (2), op_type (4); `TensorProto` dims (1), data_type (2), float_data (4),
//! int32_data (5), name (8), raw_data (9).

use std::path::Path;

use super::ModelError;

/// One graph node: its operator and the names of its inputs and outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Node {
    /// Operator type, e.g. `DequantizeLinear`.
    pub op_type: String,
    /// Input tensor names.
    pub inputs: Vec<String>,
    /// Output tensor names.
    pub outputs: Vec<String>,
}

/// The nodes and the scalar initialisers of a graph (larger initialisers are skipped).
#[derive(Debug, Clone, Default)]
pub(crate) struct OnnxGraph {
    /// Nodes in graph order.
    pub nodes: Vec<Node>,
    scalars: Vec<(String, f64)>,
}

impl OnnxGraph {
    /// Parses `path` (only the graph structure; external weight files are not read).
    pub(crate) fn read(path: &Path) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::MissingFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::parse(&bytes).map_err(|reason| ModelError::Mismatch {
            path: path.to_path_buf(),
            reason: format!("cannot parse the ONNX file: {reason}"),
        })
    }

    /// Parses a serialised `ModelProto`.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, String> {
        let mut graph = OnnxGraph::default();
        for field in Fields::new(bytes) {
            let (number, value) = field?;
            if let (7, Value::Bytes(g)) = (number, value) {
                graph.merge_graph(g)?;
            }
        }
        Ok(graph)
    }

    fn merge_graph(&mut self, bytes: &[u8]) -> Result<(), String> {
        for field in Fields::new(bytes) {
            match field? {
                (1, Value::Bytes(n)) => self.nodes.push(parse_node(n)?),
                (5, Value::Bytes(t)) => {
                    if let Some(scalar) = parse_scalar(t)? {
                        self.scalars.push(scalar);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Value of a scalar initialiser (float or integer types), if the graph has one by that name.
    pub(crate) fn scalar(&self, name: &str) -> Option<f64> {
        self.scalars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    /// The first node of type `op_type` that reads tensor `input`.
    pub(crate) fn consumer(&self, op_type: &str, input: &str) -> Option<&Node> {
        self.nodes
            .iter()
            .find(|n| n.op_type == op_type && n.inputs.first().is_some_and(|i| i == input))
    }

    /// The node of type `op_type` that writes tensor `output`.
    pub(crate) fn producer(&self, op_type: &str, output: &str) -> Option<&Node> {
        self.nodes
            .iter()
            .find(|n| n.op_type == op_type && n.outputs.iter().any(|o| o == output))
    }
}

/// Scale and zero point of a (De)QuantizeLinear node: `real = scale · (q - zero_point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Quantisation {
    /// Step size.
    pub scale: f32,
    /// Integer that represents 0.0.
    pub zero_point: f32,
}

impl Quantisation {
    /// Reads the scale and zero point named by `node`'s second and third inputs.
    pub(crate) fn of_node(graph: &OnnxGraph, node: &Node) -> Option<Self> {
        let scale = graph.scalar(node.inputs.get(1)?)?;
        let zero_point = node.inputs.get(2).map_or(Some(0.0), |z| graph.scalar(z))?;
        (scale > 0.0).then_some(Self {
            scale: scale as f32,
            zero_point: zero_point as f32,
        })
    }

    /// `clamp(round(x / scale + zero_point), 0, 255)` as uint8.
    pub(crate) fn quantise_u8(&self, x: f32) -> u8 {
        (x / self.scale + self.zero_point).round().clamp(0.0, 255.0) as u8
    }

    /// `scale · (q - zero_point)`.
    pub(crate) fn dequantise(&self, q: u8) -> f32 {
        self.scale * (f32::from(q) - self.zero_point)
    }
}

fn parse_node(bytes: &[u8]) -> Result<Node, String> {
    let mut node = Node::default();
    for field in Fields::new(bytes) {
        match field? {
            (1, Value::Bytes(s)) => node.inputs.push(utf8(s)?),
            (2, Value::Bytes(s)) => node.outputs.push(utf8(s)?),
            (4, Value::Bytes(s)) => node.op_type = utf8(s)?,
            _ => {}
        }
    }
    Ok(node)
}

/// ONNX `TensorProto.DataType` codes of the types read here.
const FLOAT: u64 = 1;
const UINT8: u64 = 2;
const INT8: u64 = 3;
const INT32: u64 = 6;
const DOUBLE: u64 = 11;

/// A tensor with one element (no dims, or all dims 1) and inline data, as `(name, value)`.
fn parse_scalar(bytes: &[u8]) -> Result<Option<(String, f64)>, String> {
    let (mut name, mut dtype, mut elements) = (String::new(), 0, 1u64);
    let (mut raw, mut float, mut int) = (None, None, None);
    for field in Fields::new(bytes) {
        match field? {
            (1, Value::Varint(d)) => elements = elements.saturating_mul(d),
            (1, Value::Bytes(packed)) => {
                for d in Varints(packed) {
                    elements = elements.saturating_mul(d?);
                }
            }
            (2, Value::Varint(t)) => dtype = t,
            (4, Value::Fixed32(f)) => float = Some(f32::from_bits(f)),
            (4, Value::Bytes(p)) if p.len() == 4 => {
                float = Some(f32::from_le_bytes([p[0], p[1], p[2], p[3]]))
            }
            (5, Value::Varint(i)) => int = Some(i as i64),
            (5, Value::Bytes(p)) => int = Varints(p).next().transpose()?.map(|i| i as i64),
            (8, Value::Bytes(s)) => name = utf8(s)?,
            (9, Value::Bytes(r)) => raw = Some(r),
            _ => {}
        }
    }
    if elements != 1 {
        return Ok(None);
    }
    let value = match (dtype, raw) {
        (FLOAT, Some(r)) if r.len() == 4 => f64::from(f32::from_le_bytes([r[0], r[1], r[2], r[3]])),
        (DOUBLE, Some(r)) if r.len() == 8 => {
            f64::from_le_bytes([r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]])
        }
        (UINT8, Some(r)) if r.len() == 1 => f64::from(r[0]),
        (INT8, Some(r)) if r.len() == 1 => f64::from(r[0] as i8),
        (INT32, Some(r)) if r.len() == 4 => f64::from(i32::from_le_bytes([r[0], r[1], r[2], r[3]])),
        (FLOAT, None) => match float {
            Some(f) => f64::from(f),
            None => return Ok(None),
        },
        (UINT8 | INT8 | INT32, None) => match int {
            // Small integer types are stored widened in int32_data; int8 as its two's complement.
            Some(i) if dtype == INT8 => f64::from(i as i8),
            Some(i) => i as f64,
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some((name, value)))
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "a name is not UTF-8".to_string())
}

/// A decoded protobuf field value.
enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Iterates over the `(field number, value)` pairs of one serialised message.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.rest.len() < n {
            return Err(format!("field needs {n} bytes, {} left", self.rest.len()));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Value<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let result = (|| {
            let key = read_varint(&mut self.rest)?;
            let value = match key & 7 {
                0 => Value::Varint(read_varint(&mut self.rest)?),
                1 => {
                    self.take(8)?;
                    Value::Fixed64
                }
                2 => {
                    let len = usize::try_from(read_varint(&mut self.rest)?)
                        .map_err(|_| "length overflow".to_string())?;
                    Value::Bytes(self.take(len)?)
                }
                5 => {
                    let b = self.take(4)?;
                    Value::Fixed32(u32::from_le_bytes(b.try_into().map_err(|_| "fixed32")?))
                }
                w => return Err(format!("unsupported wire type {w}")),
            };
            Ok((key >> 3, value))
        })();
        if result.is_err() {
            self.rest = &[];
        }
        Some(result)
    }
}

/// Iterates over packed varints.
struct Varints<'a>(&'a [u8]);

impl Iterator for Varints<'_> {
    type Item = Result<u64, String>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let r = read_varint(&mut self.0);
        if r.is_err() {
            self.0 = &[];
        }
        Some(r)
    }
}

fn read_varint(bytes: &mut &[u8]) -> Result<u64, String> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Ok(value);
        }
    }
    Err("truncated or overlong varint".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7F) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn bytes_field(number: u64, payload: &[u8], out: &mut Vec<u8>) {
        varint(number << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }

    #[test]
    fn reads_nodes_and_scalars_from_a_hand_built_model() {
        let mut scale = Vec::new();
        bytes_field(8, b"s", &mut scale);
        varint(2 << 3, &mut scale);
        varint(FLOAT, &mut scale);
        bytes_field(9, &0.25f32.to_le_bytes(), &mut scale);
        let mut zp = Vec::new();
        bytes_field(8, b"z", &mut zp);
        varint(2 << 3, &mut zp);
        varint(UINT8, &mut zp);
        bytes_field(9, &[144], &mut zp);
        let mut node = Vec::new();
        for i in ["x", "s", "z"] {
            bytes_field(1, i.as_bytes(), &mut node);
        }
        bytes_field(2, b"y", &mut node);
        bytes_field(4, b"DequantizeLinear", &mut node);
        let mut graph = Vec::new();
        bytes_field(1, &node, &mut graph);
        bytes_field(5, &scale, &mut graph);
        bytes_field(5, &zp, &mut graph);
        let mut model = Vec::new();
        varint(1 << 3, &mut model); // ir_version
        varint(9, &mut model);
        bytes_field(7, &graph, &mut model);

        let g = OnnxGraph::parse(&model).expect("parses");
        let n = g.consumer("DequantizeLinear", "x").expect("node");
        let q = Quantisation::of_node(&g, n).expect("params");
        assert_eq!(
            q,
            Quantisation {
                scale: 0.25,
                zero_point: 144.0
            }
        );
        assert_eq!(q.quantise_u8(0.0), 144);
        assert_eq!(q.quantise_u8(-100.0), 0);
        assert_eq!(q.dequantise(148), 1.0);
        assert!(OnnxGraph::parse(&model[..model.len() - 3]).is_err());
    }
}
