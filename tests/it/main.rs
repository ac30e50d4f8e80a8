//! imgtui's integration tests, as one crate so the engine and the model link once.
//!
//! Each module tests one part; `common` draws the images they use and runs the binary.

mod analysis;
mod bad_input;
mod cli;
mod clip;
mod cluster;
mod common;
mod concurrent;
mod curation;
mod damage;
mod decode;
mod dedupe;
mod facets;
mod features;
mod formats;
mod fuzz;
mod heif;
mod hostile;
mod index;
mod map;
mod model;
mod names;
mod pty;
mod races;
mod resume;
mod search_index;
mod settings;
mod shard;
mod spec;
mod terminal;
mod thumbnails;
mod tui;
