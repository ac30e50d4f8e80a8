//! imgtui's engine: find the images in a folder, embed them with a neural model, keep the
//! vectors in an on-disk store, and answer from them.
//!
//! Layers, each importing only from those above it in this list:
//!
//! 1. [`error`], [`toml_error`], [`text`]: the error kinds callers branch on; one-line TOML
//!    errors; text for people (control characters made visible, byte counts).
//! 2. [`scan`]: walk a folder, file identity.
//! 3. [`decode`]: bytes → oriented, composited RGB.
//! 4. [`features`]: the extractors (the built-in network, model specs, descriptors).
//! 5. [`collection`]: a folder's vectors as one matrix, the 8-bit copy, dot products.
//! 6. [`store`], then [`index`] and [`watch`]: the SQLite feature store, the pipeline that fills
//!    it, and watching a folder for changes.
//! 7. [`analysis`], [`export`], [`montage`]: clusters, the map, neighbours, duplicates; files out.
//! 8. [`dedupe`]: keep one file of each duplicate group, move or trash the rest, undo.
//! 9. [`config`]: settings, which build the option structs of the layers above.
//! 10. [`session`], [`answers`]: one folder opened in a store; the typed answers of the commands.
//! 11. [`tui`] (and the binary): the clients. The explorer reaches the engine only through
//!     [`session`] (`python3 .ci/layers.py` checks it).

#![warn(missing_docs)]

pub mod analysis;
pub mod answers;
pub mod collection;
pub mod config;
pub mod decode;
pub mod dedupe;
pub mod error;
pub mod export;
pub mod features;
pub mod index;
pub mod montage;
pub mod scan;
pub mod session;
pub mod store;
pub mod text;
pub mod toml_error;
pub mod tui;
pub mod watch;

pub use collection::Collection;
pub use error::{Error, ErrorKind};
pub use features::{Extractor, OnnxModel};
pub use index::{IndexOptions, Progress, Summary, index};
pub use session::Session;
pub use store::Store;

/// The cargo features this build was made with (`imgtui --version` lists them).
pub const BUILD_FEATURES: &[&str] = &[
    #[cfg(feature = "ort")]
    "ort",
];

/// A path in JSON: a string when the name is UTF-8 (nearly always); otherwise an object
/// `{"text": LOSSY, "bytes": BASE64}`, where `text` has U+FFFD for each bad byte (for reading)
/// and `bytes` is the exact name, base64 (standard alphabet, padded), as ripgrep's JSON does.
pub(crate) fn serialize_path<S: serde::Serializer>(
    p: &std::path::Path,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    JsonPath(p).serialize(s)
}

/// A path that may be missing: `null`, or as [`serialize_path`] writes one.
pub(crate) fn serialize_optional_path<S: serde::Serializer>(
    p: &Option<std::path::PathBuf>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => serialize_path(p, s),
        None => s.serialize_none(),
    }
}

/// A list of paths, each as [`serialize_path`] writes one.
pub(crate) fn serialize_paths<S: serde::Serializer>(
    paths: &[std::path::PathBuf],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(paths.iter().map(|p| JsonPath(p)))
}

struct JsonPath<'a>(&'a std::path::Path);

impl serde::Serialize for JsonPath<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if let Some(text) = self.0.to_str() {
            return s.serialize_str(text);
        }
        #[cfg(unix)]
        let bytes = {
            use base64::Engine;
            use std::os::unix::ffi::OsStrExt;
            base64::engine::general_purpose::STANDARD.encode(self.0.as_os_str().as_bytes())
        };
        #[cfg(not(unix))]
        let bytes = String::new();
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("text", &self.0.to_string_lossy())?;
        map.serialize_entry("bytes", &bytes)?;
        map.end()
    }
}
