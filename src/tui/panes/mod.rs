//! The explorer's panes, one file per feature: each holds its state, the `impl App` block
//! that handles its keys and events, and its drawing. [`super::app::App`] holds one of each
//! and routes events to them; [`super::view`] lays them out.

pub(crate) mod browse;
pub(crate) mod compare;
pub(crate) mod duplicates;
pub(crate) mod edit;
pub(crate) mod export;
pub(crate) mod facets;
pub(crate) mod grid;
pub(crate) mod help;
pub(crate) mod lattice;
pub(crate) mod lists;
pub(crate) mod loading;
pub(crate) mod map;
pub(crate) mod neighbours;
pub(crate) mod outliers;
pub(crate) mod overview;
pub(crate) mod preview;
pub(crate) mod prompt;
pub(crate) mod search;
pub(crate) mod status;
pub(crate) mod sweep;
