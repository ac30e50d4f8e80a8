//! Model specs: a small TOML table that says how to feed an ONNX image model and which of
//! its tensors to read (`config/models/*.toml`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::decode::Fit;

/// How to run an ONNX image model. Paths are relative to the spec file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The model's name, part of its feature id.
    pub name: String,
    /// The ONNX file.
    pub onnx: PathBuf,
    /// Name of the graph's image input.
    pub input: String,
    /// Input width and height, in pixels.
    pub size: u32,
    /// Order of the input tensor's axes.
    #[serde(default)]
    pub layout: Layout,
    /// Order of the colour channels.
    #[serde(default)]
    pub channels: Channels,
    /// Pixels are scaled to 0..range first (1 or 255).
    #[serde(default = "one")]
    pub range: f32,
    /// Subtracted per channel after scaling, in the order of `channels`.
    #[serde(default)]
    pub mean: [f32; 3],
    /// Divides per channel after the mean.
    #[serde(default = "ones")]
    pub std: [f32; 3],
    /// The tensor read as the image's vector (any tensor in the graph).
    pub embedding: String,
    /// The classifier's output, computed from `embedding` (optional).
    #[serde(default)]
    pub logits: Option<String>,
    /// Class names, one per line, in the order of `logits` (optional).
    #[serde(default)]
    pub classes: Option<PathBuf>,
    /// How an image is fitted to `size × size`: stretched or centre-cropped.
    #[serde(default)]
    pub fit: Fit,
    /// A text encoder into the same space (a CLIP-type model), for search by words (optional).
    #[serde(default)]
    pub text: Option<TextSpec>,
}

/// The `[text]` table of a spec: a text encoder whose vectors share the image model's space, as
/// CLIP's do (Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
/// Supervision"), and the tokenizer that feeds it. Paths are relative to the spec file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TextSpec {
    /// The ONNX file of the text encoder.
    pub onnx: PathBuf,
    /// Name of its input: token ids, int64 [1, `context_length`].
    pub input: String,
    /// The tensor read as the text's vector, [1, D] with D the image embedding's length.
    pub embedding: String,
    /// CLIP's BPE vocabulary, `bpe_simple_vocab_16e6.txt.gz` (see
    /// [`crate::features::clip_tokenizer`]).
    pub vocabulary: PathBuf,
    /// Tokens per text, start and end included (77 for every OpenAI CLIP).
    #[serde(default = "context_length")]
    pub context_length: usize,
}

fn context_length() -> usize {
    super::clip_tokenizer::CONTEXT_LENGTH
}

/// Order of a 4-D image tensor's axes.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Batch, channels, height, width (PyTorch).
    #[default]
    Nchw,
    /// Batch, height, width, channels (TensorFlow).
    Nhwc,
}

/// Order of the colour channels.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Channels {
    /// Red, green, blue.
    #[default]
    Rgb,
    /// Blue, green, red (Caffe, OpenCV).
    Bgr,
}

fn one() -> f32 {
    1.0
}

fn ones() -> [f32; 3] {
    [1.0; 3]
}

impl ModelSpec {
    /// Parses a spec; `origin` names it in errors (with line and key, as the TOML parser gives).
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<ModelSpec> {
        let spec: ModelSpec =
            toml::from_str(text).map_err(|e| crate::toml_error::toml_error(text, origin, &e))?;
        let problem = if spec.size == 0 {
            Some("size: must be at least 1 pixel")
        } else if !(spec.range == 1.0 || spec.range == 255.0) {
            Some("range: 1 (pixels as 0–1) or 255 (0–255)")
        } else if spec.std.contains(&0.0) {
            Some("std: no channel may have 0")
        } else if spec.name.trim().is_empty() {
            Some("name: must not be empty")
        } else if spec.text.as_ref().is_some_and(|t| t.context_length < 3) {
            Some("text.context_length: at least 3 tokens (start, one word, end)")
        } else {
            None
        };
        match problem {
            Some(p) => anyhow::bail!("in {origin}: {p}"),
            None => Ok(spec),
        }
    }

    /// Reads a spec file and makes its paths absolute.
    ///
    /// Fails when the file cannot be read or is not a valid spec (one line naming file, line and
    /// key).
    pub fn read(path: &Path) -> anyhow::Result<ModelSpec> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}", crate::text::shown(path)))?;
        let mut spec = Self::parse(&text, &crate::text::shown(path).to_string())?;
        let base = path.parent().unwrap_or(Path::new("."));
        spec.onnx = base.join(&spec.onnx);
        spec.classes = spec.classes.map(|c| base.join(c));
        if let Some(text) = &mut spec.text {
            text.onnx = base.join(&text.onnx);
            text.vocabulary = base.join(&text.vocabulary);
        }
        Ok(spec)
    }

    /// The input tensor's shape for one image.
    pub fn input_shape(&self) -> [usize; 4] {
        let s = self.size as usize;
        match self.layout {
            Layout::Nchw => [1, 3, s, s],
            Layout::Nhwc => [1, s, s, 3],
        }
    }

    /// The input tensor for one RGB image of `size`×`size`.
    pub fn input_data(&self, rgb: &[u8]) -> Vec<f32> {
        let plane = (self.size * self.size) as usize;
        let mut data = vec![0f32; 3 * plane];
        let order = match self.channels {
            Channels::Rgb => [0, 1, 2],
            Channels::Bgr => [2, 1, 0],
        };
        // A byte has 256 values: the formula once per value and channel, then lookups.
        let table: [[f32; 256]; 3] = std::array::from_fn(|c| {
            std::array::from_fn(|b| {
                let x = b as f32 / 255.0 * self.range;
                (x - self.mean[c]) / self.std[c]
            })
        });
        let pixels = rgb.chunks_exact(3);
        match self.layout {
            Layout::Nchw => {
                let (r, rest) = data.split_at_mut(plane);
                let (g, b) = rest.split_at_mut(plane);
                for (i, px) in pixels.enumerate() {
                    r[i] = table[0][px[order[0]] as usize];
                    g[i] = table[1][px[order[1]] as usize];
                    b[i] = table[2][px[order[2]] as usize];
                }
            }
            Layout::Nhwc => {
                for (out, px) in data.chunks_exact_mut(3).zip(pixels) {
                    for c in 0..3 {
                        out[c] = table[c][px[order[c]] as usize];
                    }
                }
            }
        }
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bgr_nhwc_with_caffe_means() {
        let spec = ModelSpec::parse(
            r#"
            name = "t"
            onnx = "t.onnx"
            input = "x"
            size = 1
            layout = "nhwc"
            channels = "bgr"
            range = 255.0
            mean = [104.0, 117.0, 123.0]
            embedding = "e"
            "#,
            "test",
        )
        .unwrap();
        assert_eq!(spec.input_shape(), [1, 1, 1, 3]);
        assert_eq!(spec.input_data(&[200, 100, 50]), vec![-54.0, -17.0, 77.0]);
    }

    /// Planes in channel order, each value `(x / 255 · range − mean) / std`.
    #[test]
    fn rgb_nchw_planes() {
        let spec = ModelSpec::parse(
            r#"
            name = "t"
            onnx = "t.onnx"
            input = "x"
            size = 2
            range = 1.0
            mean = [0.5, 0.25, 0.0]
            std = [0.5, 0.25, 2.0]
            embedding = "e"
            "#,
            "test",
        )
        .unwrap();
        let rgb = [0, 64, 255, 255, 0, 17, 128, 128, 128, 1, 2, 3];
        let data = spec.input_data(&rgb);
        for (i, px) in rgb.chunks_exact(3).enumerate() {
            for c in 0..3 {
                let want = (px[c] as f32 / 255.0 - spec.mean[c]) / spec.std[c];
                assert_eq!(data[c * 4 + i], want, "pixel {i} channel {c}");
            }
        }
    }

    #[test]
    fn errors_name_the_file_line_and_key() {
        let err = ModelSpec::parse("name = \"t\"\nsize = \"big\"\n", "my.toml").unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("my.toml") && msg.contains("line 2") && msg.contains("size"),
            "{msg}"
        );
        let err = ModelSpec::parse(
            "name='t'\nonnx='a'\ninput='i'\nsize=8\nembedding='e'\nrange=100.0\n",
            "my.toml",
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("range"), "{err:#}");
    }
}
