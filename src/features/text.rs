//! A CLIP-type text encoder: words in, a vector in the image model's space out, run by tract.

use anyhow::{Context, bail, ensure};
use tract_onnx::prelude::*;

use super::clip_tokenizer::ClipTokenizer;
use super::graph::{Plan, plan};
use super::spec::TextSpec;

/// The text half of a CLIP-type model (the `[text]` table of a spec): the BPE tokenizer and the
/// text encoder's optimised plan. Its vectors compare with the image model's by cosine, as in
/// CLIP (Radford et al. 2021); imgtui normalises both.
pub struct TextEncoder {
    tokenizer: ClipTokenizer,
    plan: Plan,
    context_length: usize,
    dim: usize,
}

impl TextEncoder {
    /// Reads the vocabulary and the ONNX file `spec` names and checks the encoder by running
    /// an empty text through it.
    ///
    /// Errors (each one line): the vocabulary or the ONNX file is missing or unreadable, the
    /// graph has no such input or output, or the encoder's vectors are not `image_dim` long
    /// (the two encoders of a spec must share one space).
    pub fn load(spec: &TextSpec, image_dim: usize) -> anyhow::Result<TextEncoder> {
        let tokenizer =
            ClipTokenizer::from_vocab_file(&spec.vocabulary).context("text.vocabulary")?;
        let onnx = std::fs::read(&spec.onnx)
            .with_context(|| format!("text.onnx = {}", crate::text::shown(&spec.onnx)))?;
        let fact = i64::fact([1, spec.context_length]);
        let plan = plan(&onnx, &spec.input, fact, &spec.embedding).with_context(|| {
            format!(
                "text.onnx does not run on {} tokens (text.context_length; CLIP's is 77)",
                spec.context_length
            )
        })?;
        let mut encoder = TextEncoder {
            tokenizer,
            plan,
            context_length: spec.context_length,
            dim: 0,
        };
        let blank = encoder.run(&encoder.tokenizer.tokenize("", spec.context_length))?;
        encoder.dim = blank.len();
        ensure!(
            encoder.dim == image_dim,
            "the text encoder gives vectors of {} numbers and the image encoder of {image_dim}: \
             the two must share one space",
            encoder.dim
        );
        Ok(encoder)
    }

    /// Length of the vectors, that of the image model's.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The raw (not normalised) vector of `text`, `dim()` numbers.
    ///
    /// Errors: the text is empty (or only spaces), or longer than the encoder reads
    /// (`context_length` − 2 tokens; CLIP would silently cut it), or the graph fails.
    pub fn embed(&self, text: &str) -> anyhow::Result<Vec<f32>> {
        let ids = self.tokenizer.encode(text);
        if ids.is_empty() {
            bail!("the query is empty: give some words");
        }
        let room = self.context_length - 2;
        if ids.len() > room {
            bail!(
                "the query is {} tokens long; this model reads at most {room}: shorten it",
                ids.len()
            );
        }
        self.run(&self.tokenizer.tokenize(text, self.context_length))
    }

    fn run(&self, tokens: &[i64]) -> anyhow::Result<Vec<f32>> {
        let input = Tensor::from_shape(&[1, tokens.len()], tokens)?;
        let outputs = self.plan.run(tvec!(input.into()))?;
        let view = outputs[0].to_plain_array_view::<f32>()?;
        ensure!(!view.is_empty(), "the text encoder gave an empty vector");
        Ok(view.iter().copied().collect())
    }
}
