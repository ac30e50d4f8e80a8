//! Settings, read from TOML. `config/default.toml` is compiled in and holds every default.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::analysis::clustering::{KChoice, Request};
use crate::decode::DecodeOptions;
use crate::index::IndexOptions;

static DEFAULT: &str = include_str!("../config/default.toml");

/// The whole configuration, as in `config/default.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Feature store file; empty for the default in the user's cache folder.
    pub store: String,
    /// What vectors to compare (see `features::select`).
    pub features: String,
    pub index: IndexSection,
    pub decode: DecodeSection,
    pub cluster: ClusterSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSection {
    pub threads: usize,
    pub batch: usize,
    pub batch_interval_ms: u64,
    pub max_file_mib: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodeSection {
    pub background: String,
    pub max_side: u32,
    pub max_decoded_mib: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    pub method: String,
    pub k: String,
    pub k_max: usize,
    pub eps: f32,
    pub min_points: usize,
    pub dims: usize,
    pub seed: u64,
    pub map: String,
}

impl Default for Config {
    fn default() -> Self {
        Config::parse(DEFAULT, "config/default.toml").expect("the built-in defaults parse")
    }
}

impl Config {
    /// Parses a complete configuration; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| toml_error(text, origin, &e))?;
        config
            .decode_options()
            .with_context(|| format!("in {origin}"))?;
        crate::features::check(&config.features)
            .map_err(|e| anyhow::anyhow!("features: {e}"))
            .with_context(|| format!("in {origin}"))?;
        config
            .cluster_options()
            .with_context(|| format!("in {origin}"))?;
        Ok(config)
    }

    /// The store file this configuration names, if any.
    pub fn store_path(&self) -> Option<PathBuf> {
        (!self.store.is_empty()).then(|| PathBuf::from(&self.store))
    }

    pub fn decode_options(&self) -> anyhow::Result<DecodeOptions> {
        Ok(DecodeOptions {
            background: parse_colour(&self.decode.background)
                .with_context(|| format!("decode.background = {:?}", self.decode.background))?,
            max_side: self.decode.max_side,
            max_alloc: self.decode.max_decoded_mib << 20,
        })
    }

    pub fn index_options(&self) -> anyhow::Result<IndexOptions> {
        Ok(IndexOptions {
            decode: self.decode_options()?,
            threads: self.index.threads,
            batch: self.index.batch.max(1),
            batch_interval: Duration::from_millis(self.index.batch_interval_ms),
            max_file_bytes: self.index.max_file_mib << 20,
        })
    }
}

/// A TOML error as one line naming the file, the line and the key, e.g.
/// `~/.config/imgtui/config.toml, line 12, key cluster.k: invalid value …`.
pub fn toml_error(text: &str, origin: &str, err: &toml::de::Error) -> anyhow::Error {
    let message = err.message().trim().replace('\n', " ");
    let Some(span) = err.span() else {
        return anyhow::anyhow!("{origin}: {message}");
    };
    let before = &text[..span.start.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    let section = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim());
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.starts_with('#'));
    match (section, key) {
        (Some(s), Some(k)) => anyhow::anyhow!("{origin}, line {line_no}, key {s}.{k}: {message}"),
        (None, Some(k)) => anyhow::anyhow!("{origin}, line {line_no}, key {k}: {message}"),
        _ => anyhow::anyhow!("{origin}, line {line_no}: {message}"),
    }
}

impl Config {
    /// The clustering asked for when no flag says otherwise.
    pub fn cluster_request(&self) -> Request {
        self.cluster_options().expect("checked when parsed")
    }

    fn cluster_options(&self) -> anyhow::Result<Request> {
        let c = &self.cluster;
        let method = c
            .method
            .parse()
            .map_err(|e: String| anyhow::anyhow!("cluster.method: {e}"))?;
        let k: KChoice =
            c.k.parse()
                .map_err(|e: String| anyhow::anyhow!("cluster.k: {e}"))?;
        anyhow::ensure!(c.k_max >= 2, "cluster.k_max: at least 2");
        anyhow::ensure!(
            (0.0..2.0).contains(&c.eps),
            "cluster.eps: a cosine distance in 0..2"
        );
        anyhow::ensure!(c.dims >= 2, "cluster.dims: at least 2");
        Ok(Request {
            method,
            k,
            k_max: c.k_max,
            eps: (c.eps > 0.0).then_some(c.eps),
            min_points: c.min_points.max(1),
            dims: c.dims,
            seed: c.seed,
            map: c
                .map
                .parse()
                .map_err(|e: String| anyhow::anyhow!("cluster.map: {e}"))?,
        })
    }
}

/// `#rrggbb` → `[r, g, b]`.
fn parse_colour(s: &str) -> anyhow::Result<[u8; 3]> {
    let hex = s.strip_prefix('#').unwrap_or(s);
    anyhow::ensure!(
        hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "expected a colour like \"#ffffff\""
    );
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("checked hex");
    Ok([byte(0), byte(2), byte(4)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let bad_key = DEFAULT.replace("max_side", "max_sides");
        let err = format!("{:#}", Config::parse(&bad_key, "test.toml").unwrap_err());
        assert!(
            err.contains("test.toml") && err.contains("max_sides"),
            "{err}"
        );
        let bad_colour = DEFAULT.replace("\"#ffffff\"", "\"white\"");
        let err = format!("{:#}", Config::parse(&bad_colour, "test.toml").unwrap_err());
        assert!(err.contains("decode.background"), "{err}");
    }

    #[test]
    fn colours_parse() {
        assert_eq!(parse_colour("#1a2B3c").unwrap(), [0x1a, 0x2b, 0x3c]);
        assert!(parse_colour("white").is_err());
    }
}
