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
/// [`deserialize_path`] reads it back.
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

/// A path as [`serialize_path`] writes it: a string, or `{"text": LOSSY, "bytes": BASE64}`,
/// whose `bytes` give the exact name (on unix; elsewhere, where names are not bytes, `text`).
///
/// Fails when the value is neither, or `bytes` is not base64.
pub(crate) fn deserialize_path<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<std::path::PathBuf, D::Error> {
    d.deserialize_any(PathVisitor)
}

/// A path that may be missing, as [`serialize_optional_path`] writes one.
pub(crate) fn deserialize_optional_path<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<std::path::PathBuf>, D::Error> {
    use serde::Deserialize;
    Ok(Option::<ReadPath>::deserialize(d)?.map(|p| p.0))
}

/// A list of paths, as [`serialize_paths`] writes one.
pub(crate) fn deserialize_paths<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<std::path::PathBuf>, D::Error> {
    use serde::Deserialize;
    Ok(Vec::<ReadPath>::deserialize(d)?
        .into_iter()
        .map(|p| p.0)
        .collect())
}

/// A path read by [`deserialize_path`], for lists and options of them.
struct ReadPath(std::path::PathBuf);

impl<'de> serde::Deserialize<'de> for ReadPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_path(d).map(ReadPath)
    }
}

struct PathVisitor;

impl<'de> serde::de::Visitor<'de> for PathVisitor {
    type Value = std::path::PathBuf;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(r#"a path: a string, or {"text": …, "bytes": BASE64}"#)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let (mut text, mut bytes) = (None::<String>, None::<String>);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "text" => text = Some(map.next_value()?),
                "bytes" => bytes = Some(map.next_value()?),
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        let text = text.ok_or_else(|| A::Error::missing_field("text"))?;
        let bytes = bytes.ok_or_else(|| A::Error::missing_field("bytes"))?;
        #[cfg(unix)]
        {
            use base64::Engine;
            use std::os::unix::ffi::OsStringExt;
            let _ = text;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&bytes)
                .map_err(|e| A::Error::custom(format_args!("path bytes: {e}")))?;
            Ok(std::ffi::OsString::from_vec(bytes).into())
        }
        #[cfg(not(unix))]
        {
            let _ = bytes;
            Ok(text.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Paths {
        #[serde(
            serialize_with = "super::serialize_path",
            deserialize_with = "super::deserialize_path"
        )]
        one: PathBuf,
        #[serde(
            serialize_with = "super::serialize_optional_path",
            deserialize_with = "super::deserialize_optional_path"
        )]
        maybe: Option<PathBuf>,
        #[serde(
            serialize_with = "super::serialize_paths",
            deserialize_with = "super::deserialize_paths"
        )]
        many: Vec<PathBuf>,
    }

    fn round_trip(value: &Paths) -> (serde_json::Value, Paths) {
        let json = serde_json::to_string(value).unwrap();
        let back: Paths = serde_json::from_str(&json).unwrap();
        (serde_json::from_str(&json).unwrap(), back)
    }

    #[test]
    fn utf8_paths_are_strings_and_read_back() {
        let value = Paths {
            one: "/art/été.png".into(),
            maybe: None,
            many: vec!["/a.png".into(), "/b, \"c\".png".into()],
        };
        let (json, back) = round_trip(&value);
        assert_eq!(json["one"], "/art/été.png");
        assert!(json["maybe"].is_null());
        assert_eq!(back, value);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_paths_read_back_byte_for_byte() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let odd = PathBuf::from(OsStr::from_bytes(b"/art/caf\xe9-\xff.png"));
        let value = Paths {
            one: odd.clone(),
            maybe: Some(odd.clone()),
            many: vec!["/plain.png".into(), odd.clone()],
        };
        let (json, back) = round_trip(&value);
        // The raw shape on purpose: the lossy text and the base64 bytes.
        assert_eq!(json["one"]["text"], "/art/caf\u{fffd}-\u{fffd}.png");
        assert_eq!(json["one"]["bytes"], "L2FydC9jYWbpLf8ucG5n");
        assert_eq!(back, value);
        assert_eq!(back.one.as_os_str().as_bytes(), odd.as_os_str().as_bytes());
    }

    #[test]
    fn a_path_that_is_neither_string_nor_object_is_refused() {
        let err = serde_json::from_str::<Paths>(r#"{"one": 3, "maybe": null, "many": []}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("a path"), "{err}");
        let bad = r#"{"one": {"text": "x", "bytes": "!!"}, "maybe": null, "many": []}"#;
        assert!(cfg!(not(unix)) || serde_json::from_str::<Paths>(bad).is_err());
    }
}
