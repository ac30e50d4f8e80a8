//! ONNX Runtime as a second way to run a model (cargo feature `ort`): the library is loaded at
//! run time from a `libonnxruntime` the user already has (`pip install onnxruntime`, or
//! `onnxruntime-gpu` for CUDA); nothing is downloaded or linked when imgtui is built.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use anyhow::{Context, bail};
use ort::ep::{self, ExecutionProvider};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;

/// The library loaded once per process, and how it was found.
static LOADED: OnceLock<Result<Library, String>> = OnceLock::new();

/// The ONNX Runtime library in use.
#[derive(Debug, Clone)]
struct Library {
    path: PathBuf,
    version: String,
    cuda: bool,
}

/// Loads ONNX Runtime (once per process): `ORT_DYLIB_PATH` if set, else the first
/// `libonnxruntime.so*` of a Python `onnxruntime` package (the active virtual environment,
/// the user's and the system's site-packages), else `libonnxruntime.so` from the system's
/// library path.
///
/// Fails with the places it looked when none loads, or with the library's own reason (for
/// example a version older than this build supports).
fn load() -> anyhow::Result<&'static Library> {
    let loaded = LOADED.get_or_init(|| {
        let candidates = candidates();
        let mut tried = Vec::new();
        for path in &candidates {
            match ort::init_from(path) {
                Ok(builder) => {
                    builder.with_name("imgtui").commit();
                    let info =
                        unsafe { std::ffi::CStr::from_ptr((ort::api().GetBuildInfoString)()) }
                            .to_string_lossy()
                            .into_owned();
                    let version = version_of(path, &info);
                    let cuda = ep::CUDA::default().is_available().unwrap_or(false);
                    return Ok(Library {
                        path: path.clone(),
                        version,
                        cuda,
                    });
                }
                Err(e) => tried.push(format!("{}: {e}", crate::text::shown(path))),
            }
        }
        Err(format!(
            "no ONNX Runtime library could be loaded (tried {}); install one \
             (`pip install onnxruntime`, or `onnxruntime-gpu` for CUDA) or set ORT_DYLIB_PATH \
             to its libonnxruntime.so",
            tried.join("; ")
        ))
    });
    loaded.as_ref().map_err(|e| anyhow::anyhow!("{e}"))
}

/// The library's version: from its file name (`libonnxruntime.so.1.32.0`), else from its
/// build string (`git-branch=rel-1.32.0`), else "of unknown version".
fn version_of(path: &Path, info: &str) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if let Some((_, v)) = name.split_once(".so.")
        && v.starts_with(|c: char| c.is_ascii_digit())
    {
        return v.to_owned();
    }
    if let Some(start) = info.find("rel-") {
        let rest = &info[start + 4..];
        return rest[..rest.find([',', ' ']).unwrap_or(rest.len())].to_owned();
    }
    "of unknown version".to_owned()
}

/// Where to look for the library, in order.
fn candidates() -> Vec<PathBuf> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(path)];
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        roots.push(PathBuf::from(venv).join("lib"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        roots.push(PathBuf::from(home).join(".local/lib"));
    }
    roots.extend(["/usr/local/lib", "/usr/lib"].map(PathBuf::from));
    let mut found = Vec::new();
    for root in roots {
        for python in sorted_entries(&root, |n| n.starts_with("python3")) {
            for packages in ["site-packages", "dist-packages"] {
                let capi = python.join(packages).join("onnxruntime/capi");
                found.extend(sorted_entries(&capi, |n| {
                    n.starts_with("libonnxruntime.so")
                }));
            }
        }
    }
    found.push(PathBuf::from("libonnxruntime.so"));
    found
}

/// The entries of `dir` whose names pass `keep`, sorted, newest version last; none when
/// `dir` cannot be read.
fn sorted_entries(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(&keep))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// One model under ONNX Runtime: a pool of sessions, one per thread that runs it at once
/// (a session runs one input at a time), each single-threaded as tract's plan is, so that
/// throughput comes from running several images at once.
pub(super) struct OrtModel {
    /// The model as ONNX Runtime reads it (float32 weights; the embedding a graph output).
    onnx: Vec<u8>,
    input: String,
    output: String,
    idle: Mutex<Vec<Session>>,
    /// CUDA asked for and available (`onnxruntime-gpu`); otherwise the CPU.
    cuda: bool,
}

impl OrtModel {
    /// Loads the library (see [`load`]) and checks that one session can be made.
    ///
    /// Fails when no library loads or ONNX Runtime refuses the model.
    pub(super) fn new(onnx: Vec<u8>, input: &str, output: &str) -> anyhow::Result<OrtModel> {
        let library = load()?;
        let model = OrtModel {
            onnx,
            input: input.to_owned(),
            output: output.to_owned(),
            idle: Mutex::new(Vec::new()),
            cuda: library.cuda,
        };
        let first = model.session()?;
        model.idle.lock().expect("not poisoned").push(first);
        Ok(model)
    }

    /// "onnxruntime 1.32.0 (CUDA)" or "… (CPU)", and the library's path.
    pub(super) fn describe(&self) -> String {
        let library = load().expect("loaded by new");
        format!(
            "onnxruntime {} ({}, {})",
            library.version,
            if self.cuda { "CUDA" } else { "CPU" },
            crate::text::shown(&library.path)
        )
    }

    fn session(&self) -> anyhow::Result<Session> {
        // The builder's errors carry the builder, which is not Send: keep their message.
        let text = |e: ort::Error<_>| anyhow::anyhow!("ONNX Runtime: {e}");
        let mut builder = Session::builder()?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(text)?
            .with_intra_threads(1)
            .map_err(text)?
            .with_inter_threads(1)
            .map_err(text)?;
        if self.cuda {
            builder = builder
                .with_execution_providers([ep::CUDA::default().build().error_on_failure()])
                .map_err(text)?;
        }
        Ok(builder.commit_from_memory(&self.onnx)?)
    }

    /// The embedding of one input tensor of `shape` (row-major `data`).
    ///
    /// Fails when ONNX Runtime fails to run the model or gives no float output.
    pub(super) fn run(&self, shape: &[usize], data: &[f32]) -> anyhow::Result<Vec<f32>> {
        let taken = self.idle.lock().expect("not poisoned").pop();
        let mut session = match taken {
            Some(s) => s,
            None => self.session()?,
        };
        let result = (|| {
            let input = TensorRef::from_array_view((shape.to_vec(), data))?;
            let outputs = session.run(ort::inputs![self.input.as_str() => input])?;
            let (_, values) = outputs[self.output.as_str()]
                .try_extract_tensor::<f32>()
                .with_context(|| format!("output {:?}", self.output))?;
            if values.is_empty() {
                bail!("the model gave an empty embedding");
            }
            Ok(values.to_vec())
        })();
        self.idle.lock().expect("not poisoned").push(session);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::version_of;
    use std::path::Path;

    #[test]
    fn version_from_file_name_or_build_info() {
        let info = "ORT Build Info: git-branch=rel-1.22.1, git-commit-id=abc";
        let so = Path::new("/x/capi/libonnxruntime.so.1.32.0");
        assert_eq!(version_of(so, info), "1.32.0");
        assert_eq!(version_of(Path::new("libonnxruntime.so"), info), "1.22.1");
        assert_eq!(
            version_of(Path::new("libonnxruntime.so"), "git-branch=HEAD"),
            "of unknown version"
        );
    }
}
