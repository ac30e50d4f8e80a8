//! The engine's error: what went wrong, with its whole chain of causes, and the kind a caller
//! branches on (the command line turns kinds into exit codes, the explorer into messages).
//!
//! Lower layers return `anyhow::Result` and raise an [`Error`] of the right kind where they
//! know it (a bad request, a damaged store); [`Error::from`] keeps that kind through any
//! `.context()` added on the way up, and recognises SQLite's own reports of a damaged file.

use std::fmt;

/// What a caller needs to know to react to an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request cannot be answered as asked: a value out of range, `k` larger than the
    /// collection, an unknown cluster, a store location that cannot be used.
    BadRequest,
    /// A folder or file that was named does not exist or cannot be read.
    MissingInput,
    /// The feature store is damaged on disk; moving it aside (`--rebuild-store`) is the way out.
    DamagedStore,
    /// The user stopped the work (Ctrl-C, SIGTERM, SIGHUP); what was done is kept.
    Interrupted,
    /// Anything else: an I/O error, a model that fails to run.
    Failed,
}

/// An error of some [`ErrorKind`], carrying the full chain of causes. `Display` prints the
/// chain on one line (`outer: cause: root cause`).
pub struct Error {
    kind: ErrorKind,
    inner: anyhow::Error,
}

/// `Result` with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with `message` as its text.
    pub fn new(kind: ErrorKind, message: impl fmt::Display) -> Error {
        Error {
            kind,
            inner: anyhow::anyhow!("{message}"),
        }
    }

    /// A request that cannot be answered as asked.
    pub fn bad_request(message: impl fmt::Display) -> Error {
        Error::new(ErrorKind::BadRequest, message)
    }

    /// A damaged store, with what was found.
    pub fn damaged_store(message: impl fmt::Display) -> Error {
        Error::new(
            ErrorKind::DamagedStore,
            format_args!("the feature store is damaged: {message}"),
        )
    }

    /// The work was stopped by the user.
    pub fn interrupted() -> Error {
        Error::new(ErrorKind::Interrupted, "interrupted")
    }

    /// `err` with the kind given here, whatever it would have been classified as.
    pub fn with_kind(kind: ErrorKind, err: impl Into<anyhow::Error>) -> Error {
        Error {
            kind,
            inner: err.into(),
        }
    }

    /// The kind to branch on.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Adds a line of context in front, keeping the kind.
    pub fn context(self, context: impl fmt::Display + Send + Sync + 'static) -> Error {
        Error {
            kind: self.kind,
            inner: self.inner.context(context),
        }
    }

    /// The one line a client tells a person: the error, and for a damaged store the store's
    /// file (`store`, when the error does not name it already) and the way out
    /// (`--rebuild-store`). Control characters are escaped ([`crate::text::escape_lines`]).
    pub fn explained(&self, store: Option<&std::path::Path>) -> String {
        let mut text = self.to_string();
        if self.kind == ErrorKind::DamagedStore {
            if let Some(store) = store {
                let name = crate::text::shown(store).to_string();
                if !text.contains(&name) {
                    text = format!("{name}: {text}");
                }
            }
            text.push_str(
                "; run again with --rebuild-store to move it aside and start afresh (vectors \
                 are recomputed; the old file is kept)",
            );
        }
        crate::text::escape_lines(&text).into_owned()
    }

    /// Whether the chain holds an I/O error of this kind (a reader that went away, say).
    pub fn has_io(&self, kind: std::io::ErrorKind) -> bool {
        self.inner.chain().any(|e| {
            e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == kind)
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.inner)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {:?}", self.kind, self.inner)
    }
}

impl std::error::Error for Error {}

/// Classifies an error from a lower layer: the kind of the first [`Error`] in its chain,
/// else [`ErrorKind::DamagedStore`] where SQLite reports a corrupt file, else
/// [`ErrorKind::Failed`]. The chain is kept whole.
impl From<anyhow::Error> for Error {
    fn from(inner: anyhow::Error) -> Error {
        let kind = inner
            .chain()
            .find_map(|e| {
                if let Some(e) = e.downcast_ref::<Error>() {
                    return Some(e.kind);
                }
                let code = e.downcast_ref::<rusqlite::Error>()?.sqlite_error_code()?;
                matches!(
                    code,
                    rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
                )
                .then_some(ErrorKind::DamagedStore)
            })
            .unwrap_or(ErrorKind::Failed);
        Error { kind, inner }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::from(anyhow::Error::from(e))
    }
}

/// `anyhow::ensure!` for a condition a request must meet: returns early with an
/// [`ErrorKind::BadRequest`] error whose text is the format arguments.
macro_rules! ensure_request {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::error::Error::bad_request(format_args!($($fmt)+)).into());
        }
    };
}
pub(crate) use ensure_request;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_survives_context_and_the_chain_is_kept() {
        let e: anyhow::Error = Error::bad_request("k = 9 but there are only 3 images").into();
        let e = Error::from(e.context("clustering"));
        assert_eq!(e.kind(), ErrorKind::BadRequest);
        assert_eq!(
            e.to_string(),
            "clustering: k = 9 but there are only 3 images"
        );
        let plain = Error::from(anyhow::anyhow!("disk full"));
        assert_eq!(plain.kind(), ErrorKind::Failed);
    }

    #[test]
    fn sqlite_corruption_is_a_damaged_store() {
        let sqlite = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            None,
        );
        let e = Error::from(anyhow::Error::from(sqlite).context("reading clusterings"));
        assert_eq!(e.kind(), ErrorKind::DamagedStore);
    }
}
