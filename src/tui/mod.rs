//! The terminal explorer: one [`App`] state, events update it, [`view`] draws it, and
//! [`run`] owns the event loop; each feature is a file in `panes` (its state, keys, events
//! and drawing), keys go through the table in `keys`; the screen's images (encoded off the draw path) are in
//! `screen`, and the slow work is done by `workers`, each reaching the engine through a
//! [`Session`](crate::session::Session); [`terminal`] takes the terminal over, reads it,
//! asks it about graphics and hands it back.
//!
//! Files here import from the engine only through [`crate::session`] (and the layer-neutral
//! [`crate::error`], [`crate::text`] and [`crate::config`]): `python3 .ci/layers.py` checks it.

pub mod app;
pub mod event;
pub mod framing;
pub(crate) mod keys;
pub(crate) mod panes;
pub mod picture;
mod run;
mod screen;
pub mod slots;
mod state;
pub mod terminal;
pub mod theme;
pub mod view;
mod widgets;
mod workers;

pub use app::App;
pub use ratatui_image::picker::ProtocolType;
pub use run::run;
pub use view::view;
