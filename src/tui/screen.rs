//! The images on screen: the protocol to draw with, the preview, the montage, the map
//! picture and the images compared (each resized and encoded on a worker of its own, never
//! while drawing), the last decoded previews, and the grid's thumbnails.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc;

use image::DynamicImage;
use ratatui_image::protocol::StatefulProtocol;
use ratatui_image::thread::{ResizeRequest, ResizeResponse, ThreadProtocol};

use super::app::{App, Event, Overlay};
use super::panes::grid::Tile;
use super::terminal::{Graphics, tile_budget};
use super::view::{Pictures, Thumbnails};
use super::workers::pictures::ThumbnailRequest;
use super::workers::{Msg, Shown, spawn_latest};

/// Decoded previews kept for going back and forth (each at most 1024 pixels a side).
const PREVIEW_CACHE: usize = 16;

/// The images on screen: the protocol to draw with, the preview and the montage (resized
/// and encoded on workers, never while drawing), and the last decoded previews.
pub(super) struct Screen {
    graphics: Graphics,
    /// The preview and the image it shows.
    preview: Option<(PathBuf, ThreadProtocol)>,
    montage: Option<ThreadProtocol>,
    /// The map as a picture, when asked for.
    map: Option<ThreadProtocol>,
    map_generation: u64,
    /// Counts the images given to the preview and the montage, so that an encoding made
    /// for an image no longer shown is told apart and dropped.
    generation: u64,
    preview_generation: u64,
    montage_generation: u64,
    cache: VecDeque<(PathBuf, DynamicImage)>,
    /// The images the compare view shows, decoded and encoded for it.
    compare: Vec<Compared>,
    /// The images the compare view asked for last.
    compare_wanted: Vec<PathBuf>,
    /// The grid's thumbnails, for the graphics of `thumbnail_generation`.
    thumbnails: Thumbnails,
    thumbnail_generation: u64,
    /// `explore.page_kb` in bytes: what a screen full of thumbnails may cost (0: no limit).
    page_bytes: usize,
    tx: mpsc::Sender<Msg>,
}

impl Screen {
    /// A screen with no image yet, drawing with `graphics`, a screen full of thumbnails
    /// costing at most about `page_bytes` (0: no limit); its encoders report on `tx`.
    pub fn new(graphics: Graphics, page_bytes: usize, tx: mpsc::Sender<Msg>) -> Screen {
        Screen {
            graphics,
            preview: None,
            montage: None,
            map: None,
            map_generation: 0,
            generation: 0,
            preview_generation: 0,
            montage_generation: 0,
            cache: VecDeque::new(),
            compare: Vec::new(),
            compare_wanted: Vec::new(),
            thumbnails: Thumbnails::default(),
            page_bytes,
            thumbnail_generation: 0,
            tx,
        }
    }

    /// The graphics drawn with.
    pub fn graphics(&self) -> &Graphics {
        &self.graphics
    }

    /// What the view draws: the preview (or the montage), the map picture, the thumbnails.
    pub fn for_view(&mut self, app: &App) -> Pictures<'_> {
        let preview = match app.overlay {
            Overlay::Montage(_) => self.montage.as_mut(),
            _ => match &mut self.preview {
                Some((p, protocol)) if Some(&*p) == app.preview_path.as_ref() => Some(protocol),
                _ => None,
            },
        };
        let mut compare: Vec<Option<&mut ThreadProtocol>> = Vec::new();
        if app.overlay == Overlay::Compare {
            compare.resize_with(app.compare.paths.len(), || None);
            for c in &mut self.compare {
                if let Some(k) = app.compare.paths.iter().position(|p| *p == c.path) {
                    compare[k] = Some(&mut c.protocol);
                }
            }
        }
        Pictures {
            preview,
            map: self.map.as_mut(),
            thumbnails: &mut self.thumbnails,
            compare,
        }
    }

    /// `img`, to be resized and encoded on a worker of its own (which ends with it).
    fn protocol(&mut self, shown: Shown, img: DynamicImage) -> (u64, ThreadProtocol) {
        self.generation += 1;
        let encode = spawn_encoder(shown, self.generation, self.tx.clone());
        let protocol = self.graphics.new_resize_protocol(img);
        (self.generation, ThreadProtocol::new(encode, Some(protocol)))
    }

    /// Shows `path` from the cache; false when it must be decoded first.
    pub fn show_cached(&mut self, path: &PathBuf) -> bool {
        let Some((_, img)) = self.cache.iter().find(|(p, _)| p == path) else {
            return false;
        };
        let (generation, state) = self.protocol(Shown::Preview, img.clone());
        self.preview = Some((path.clone(), state));
        self.preview_generation = generation;
        true
    }

    /// Shows no preview until the one asked for is decoded.
    pub fn clear_preview(&mut self) {
        self.preview = None;
    }

    /// A preview decoded: kept in the cache, and shown if it is still `wanted` (as the
    /// preview) or compared.
    pub fn decoded(&mut self, path: PathBuf, img: DynamicImage, wanted: Option<&PathBuf>) {
        if self.cache.len() == PREVIEW_CACHE {
            self.cache.pop_front();
        }
        if self.compare_wanted.contains(&path) && !self.compare.iter().any(|c| c.path == path) {
            self.show_compared(path.clone(), img.clone());
        }
        self.cache.push_back((path.clone(), img));
        if wanted == Some(&path) {
            self.show_cached(&path);
        }
    }

    /// The compare view shows `paths` now: those decoded already (in the cache) are shown,
    /// the others are returned, to be decoded.
    pub fn compare(&mut self, paths: &[PathBuf]) -> Vec<PathBuf> {
        self.compare.retain(|c| paths.contains(&c.path));
        self.compare_wanted = paths.to_vec();
        let mut missing = Vec::new();
        for path in paths {
            if self.compare.iter().any(|c| c.path == *path) {
                continue;
            }
            match self.cache.iter().find(|(p, _)| p == path) {
                Some((_, img)) => {
                    let img = img.clone();
                    self.show_compared(path.clone(), img);
                }
                None => missing.push(path.clone()),
            }
        }
        missing
    }

    /// Shows `img` of `path` in the compare view.
    fn show_compared(&mut self, path: PathBuf, image: DynamicImage) {
        let (generation, protocol) = self.protocol(Shown::Compare, image.clone());
        self.compare.push(Compared {
            path,
            image,
            generation,
            protocol,
        });
    }

    /// Draws with `graphics` from now on; returns the event that tells the app.
    pub fn set_graphics(&mut self, graphics: Graphics, shown: Option<&PathBuf>) -> Option<Event> {
        self.graphics = graphics;
        // Thumbnails are encoded for one protocol and cell size: the app asks again.
        self.thumbnails.clear();
        self.thumbnail_generation += 1;
        // Draw the shown preview and the images compared again with the new protocol.
        if let Some(path) = shown {
            self.show_cached(path);
        }
        for c in std::mem::take(&mut self.compare) {
            self.show_compared(c.path, c.image);
        }
        Some(Event::Graphics {
            how: self.graphics.describe(),
            images: self.graphics.draws_images(),
        })
    }

    /// Shows a montage full screen.
    pub fn show_montage(&mut self, img: DynamicImage) {
        let (generation, state) = self.protocol(Shown::Montage, img);
        self.montage = Some(state);
        self.montage_generation = generation;
    }

    /// Shows the map drawn as a picture.
    pub fn show_map(&mut self, img: DynamicImage) {
        let (generation, state) = self.protocol(Shown::Map, img);
        self.map = Some(state);
        self.map_generation = generation;
    }

    /// An encoding is done; one made for an image no longer shown is dropped.
    pub fn encoded(&mut self, shown: Shown, generation: u64, done: ResizeResponse) {
        let state = match shown {
            Shown::Preview if generation == self.preview_generation => {
                self.preview.as_mut().map(|(_, p)| p)
            }
            Shown::Montage if generation == self.montage_generation => self.montage.as_mut(),
            Shown::Map if generation == self.map_generation => self.map.as_mut(),
            Shown::Compare => self
                .compare
                .iter_mut()
                .find(|c| c.generation == generation)
                .map(|c| &mut c.protocol),
            _ => None,
        };
        if let Some(state) = state {
            state.update_resized_protocol(done);
        }
    }

    /// A grid thumbnail encoded for the graphics of `generation`; dropped when the graphics
    /// changed since.
    pub fn thumbnail(
        &mut self,
        path: PathBuf,
        tile: Tile,
        generation: u64,
        thumbnail: StatefulProtocol,
    ) {
        if generation == self.thumbnail_generation {
            self.thumbnails.insert(path, tile, thumbnail);
        }
    }

    /// The request for those of `images` (path, content hash) that have no thumbnail for
    /// `tile` yet, for the graphics in use, each costing at most its share of what a `page`
    /// of that many thumbnails may cost; `None` when every one has.
    pub fn thumbnails_missing(
        &self,
        images: Vec<(PathBuf, [u8; 32])>,
        tile: Tile,
        page: usize,
    ) -> Option<ThumbnailRequest> {
        let missing: Vec<_> = images
            .into_iter()
            .filter(|(path, _)| !self.thumbnails.has(path, tile))
            .collect();
        (!missing.is_empty()).then(|| ThumbnailRequest {
            images: missing,
            tile,
            graphics: self.graphics.clone(),
            budget: tile_budget(self.page_bytes, page),
            generation: self.thumbnail_generation,
        })
    }
}

/// An image of the compare view: its decoded picture (kept to encode it again for new
/// graphics) and its encoding.
struct Compared {
    path: PathBuf,
    image: DynamicImage,
    generation: u64,
    protocol: ThreadProtocol,
}

/// Resizes and encodes one image for the terminal whenever its area changes (the newest
/// request), so that drawing only copies what is ready. The worker ends with the image.
fn spawn_encoder(
    shown: Shown,
    generation: u64,
    tx: mpsc::Sender<Msg>,
) -> mpsc::Sender<ResizeRequest> {
    spawn_latest(
        move |request: ResizeRequest| match request.resize_encode() {
            Ok(done) => tx.send(Msg::Encoded(shown, generation, done)).is_ok(),
            Err(_) => true,
        },
    )
}
