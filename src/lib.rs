//! imgtui's engine: find the images in a folder, embed them with a neural model, keep the
//! vectors in an on-disk store, and answer from them.
//!
//! The flow is one way: [`scan`] → [`decode`] → [`features`] → [`store`], driven by [`index`];
//! then [`analysis`] (clusters, the map, neighbours, duplicates), [`montage`] and [`export`].

pub mod analysis;
pub mod config;
pub mod decode;
pub mod export;
pub mod features;
pub mod index;
pub mod montage;
pub mod scan;
pub mod store;
pub mod tui;

pub use features::{Extractor, OnnxModel};
pub use index::{IndexOptions, Progress, Summary, index};
pub use store::{Collection, Store};

/// Paths as JSON strings (lossy for names that are not UTF-8).
pub(crate) fn serialize_path<S: serde::Serializer>(
    p: &std::path::Path,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}
