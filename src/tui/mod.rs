//! The terminal explorer: one [`App`] state, events update it, [`view`] draws it, and
//! [`run`] owns the terminal, the background loader and the preview decoder.

pub mod app;
mod run;
pub mod view;

pub use app::App;
pub use ratatui_image::picker::ProtocolType;
pub use run::run;
pub use view::view;
