//! Ambience tagging: YAMNet scores and embeddings, signal features, the product taxonomy.

mod yamnet;

pub use yamnet::{PatchOutput, Yamnet, YamnetSession, N_CLASSES};
