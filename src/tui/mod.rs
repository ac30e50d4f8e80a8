//! The terminal explorer: one [`App`] state, events update it, [`view`] draws it, and
//! [`run`] owns the event loop, the background loader and the preview decoder;
//! [`terminal`] takes the terminal over, reads it, asks it about graphics and hands it back.

pub mod app;
pub mod event;
pub(crate) mod keys;
pub(crate) mod panes;
pub mod picture;
mod run;
mod state;
pub mod terminal;
pub mod theme;
pub mod view;

pub use app::App;
pub use ratatui_image::picker::ProtocolType;
pub use run::run;
pub use view::view;
