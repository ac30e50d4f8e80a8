//! The explorer's workers: threads that do the slow work (loading and indexing the folder,
//! refits and edits, previews, thumbnails, the map picture, neighbours, exports, montages)
//! off the event loop and report back with a [`Msg`]. Each reaches the engine through a
//! [`Session`](crate::session::Session) of its own, or through the session's associated
//! functions for questions about a collection alone.
//!
//! [`commands`] carries out the app's commands by handing them to these workers.

use std::path::PathBuf;
use std::sync::mpsc;

use image::DynamicImage;
use ratatui_image::protocol::StatefulProtocol;
use ratatui_image::thread::ResizeResponse;

use super::app::Event;
use crate::error::Error;

pub(super) mod clusterer;
pub(super) mod commands;
pub(super) mod files;
pub(super) mod loader;
pub(super) mod pictures;

/// What the workers send the event loop: events for the [`App`](super::app::App), and
/// images for the screen.
pub(super) enum Msg {
    App(Event),
    /// A decoded preview.
    Preview(PathBuf, DynamicImage),
    /// A montage, saved to this file, to show full screen.
    Montage(PathBuf, DynamicImage),
    /// An image resized and encoded for the screen, off the draw path: which one, and the
    /// generation of the image it was encoded for.
    Encoded(Shown, u64, ResizeResponse),
    /// A grid thumbnail of this image, encoded for the graphics of this generation.
    Thumbnail(PathBuf, (u16, u16), u64, StatefulProtocol),
    /// The map drawn as a picture.
    MapPicture(DynamicImage),
    /// Loading or indexing the folder failed: told on screen, and given back by
    /// [`run`](super::run::run) so that the command line repeats it and exits non-zero.
    LoadFailed(Error),
}

impl From<Event> for Msg {
    fn from(e: Event) -> Msg {
        Msg::App(e)
    }
}

/// The images the screen shows full size, each encoded on a worker of its own.
#[derive(Debug, Clone, Copy)]
pub(super) enum Shown {
    Preview,
    Montage,
    Map,
    /// One of the images compared (told apart by its generation).
    Compare,
}

/// A worker thread that serves only the newest request: requests that arrive while it is
/// busy replace each other, so holding a key never queues work. `serve` returns false to
/// stop (the event loop is gone).
pub(super) fn spawn_latest<T: Send + 'static>(
    mut serve: impl FnMut(T) -> bool + Send + 'static,
) -> mpsc::Sender<T> {
    let (tx, rx) = mpsc::channel::<T>();
    std::thread::spawn(move || {
        while let Ok(mut request) = rx.recv() {
            while let Ok(newer) = rx.try_recv() {
                request = newer;
            }
            if !serve(request) {
                break;
            }
        }
    });
    tx
}
