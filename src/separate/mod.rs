//! Dialogue/background separation (DeepFilterNet3 through ONNX Runtime).
