//! Pictures for the screen: previews, the images compared, the grid's thumbnails and the map
//! drawn as a picture.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;

use image::{DynamicImage, RgbImage};
use ratatui::layout::Size;

use super::{Msg, spawn_latest};
use crate::session::{DecodeOptions, Session};
use crate::tui::app::{Event, MapPicture};
use crate::tui::picture;
use crate::tui::terminal::Graphics;

/// Grid thumbnails to make: the images (path, content hash), in order, and the graphics to
/// encode them for.
pub(in crate::tui) struct ThumbnailRequest {
    pub images: Vec<(PathBuf, [u8; 32])>,
    /// The tile they are encoded for, in cells.
    pub tile: (u16, u16),
    pub graphics: Graphics,
    /// The most bytes one thumbnail may cost on the wire ([`Graphics::encoded_within`]).
    pub budget: Option<usize>,
    pub generation: u64,
}

/// Makes grid thumbnails one at a time: from the feature store (made while indexing), else
/// from the file (and then kept in the store), each resized and encoded for one tile and
/// sent as it is done. A newer request replaces the one in hand at the next image, so
/// holding a key through a large cluster never queues pages.
pub(in crate::tui) fn spawn_thumbnailer(
    session: Session,
    tx: mpsc::Sender<Msg>,
) -> mpsc::Sender<ThumbnailRequest> {
    let (requests, rx) = mpsc::channel::<ThumbnailRequest>();
    std::thread::spawn(move || {
        'wait: while let Ok(mut request) = rx.recv() {
            'serve: loop {
                for (path, hash) in std::mem::take(&mut request.images) {
                    if let Ok(newer) = rx.try_recv() {
                        request = newer;
                        while let Ok(newer) = rx.try_recv() {
                            request = newer;
                        }
                        continue 'serve;
                    }
                    let Ok(thumbnail) = session.thumbnail(&path, &hash) else {
                        continue;
                    };
                    let (w, h) = request.tile;
                    let encoded = request.graphics.encoded_within(
                        DynamicImage::ImageRgb8(thumbnail),
                        Size::new(w, h),
                        request.budget,
                    );
                    let tile = request.tile;
                    if tx
                        .send(Msg::Thumbnail(path, tile, request.generation, encoded))
                        .is_err()
                    {
                        break 'wait;
                    }
                }
                break;
            }
        }
    });
    requests
}

/// Small thumbnails kept by the map painter, so that walking and zooming redraw quickly.
const MAP_THUMBNAILS_KEPT: usize = 20_000;

/// What the map painter is asked for: the picture, and the cell size in pixels.
type MapRequest = (MapPicture, (u16, u16));

/// Draws the map as a picture (the newest request; a newer one stops the one in hand at the
/// next image) from the thumbnails, kept small in memory between pictures, and tells the app
/// how many images it shows ([`Event::MapDrawn`]).
pub(in crate::tui) fn spawn_map_painter(
    session: Session,
    tx: mpsc::Sender<Msg>,
) -> mpsc::Sender<MapRequest> {
    let (requests, rx) = mpsc::channel::<MapRequest>();
    std::thread::spawn(move || {
        let mut painter = MapPainter {
            session,
            small: HashMap::new(),
            rx,
            pending: None,
        };
        while let Some(request) = painter.next_request() {
            let of = request.0.in_view;
            let Some((pic, shown)) = painter.paint(request) else {
                continue;
            };
            let drawn = Event::MapDrawn { shown, of };
            let picture = Msg::MapPicture(DynamicImage::ImageRgb8(pic));
            if tx.send(picture).is_err() || tx.send(Msg::App(drawn)).is_err() {
                break;
            }
        }
    });
    requests
}

/// The map painter's state: its session, the small thumbnails it keeps (by path and side),
/// and a request that came while it painted.
struct MapPainter {
    session: Session,
    small: HashMap<(PathBuf, u32), RgbImage>,
    rx: mpsc::Receiver<MapRequest>,
    pending: Option<MapRequest>,
}

impl MapPainter {
    /// The newest request (`None` once the event loop is gone).
    fn next_request(&mut self) -> Option<MapRequest> {
        let mut request = match self.pending.take() {
            Some(r) => r,
            None => self.rx.recv().ok()?,
        };
        while let Ok(newer) = self.rx.try_recv() {
            request = newer;
        }
        Some(request)
    }

    /// The picture `request` asks for, and how many images it shows; `None` when a newer
    /// request came meanwhile (kept as pending).
    fn paint(&mut self, (p, cell): MapRequest) -> Option<(RgbImage, usize)> {
        let size = picture::picture_size(&p, cell);
        let pic = picture::compose(&p, size, |image, side| {
            if self.pending.is_some() {
                return None;
            }
            if let Some(t) = self.small.get(&(image.path.clone(), side)) {
                return Some(t.clone());
            }
            // A newer picture is wanted: stop loading thumbnails for this one.
            if let Ok(newer) = self.rx.try_recv() {
                self.pending = Some(newer);
                return None;
            }
            let t = self.session.thumbnail(&image.path, &image.hash).ok()?;
            let t = DynamicImage::ImageRgb8(t).thumbnail(side, side).to_rgb8();
            if self.small.len() >= MAP_THUMBNAILS_KEPT {
                self.small.clear();
            }
            self.small.insert((image.path.clone(), side), t.clone());
            Some(t)
        });
        self.pending.is_none().then_some(pic)
    }
}

/// Decodes preview images off the UI thread; only the newest request is served, so holding
/// ↓ never queues a decode per image.
pub(in crate::tui) fn spawn_previewer(
    decode: DecodeOptions,
    tx: mpsc::Sender<Msg>,
) -> mpsc::Sender<PathBuf> {
    spawn_latest(
        move |path: PathBuf| match Session::preview(&path, &decode) {
            Ok(img) => tx.send(Msg::Preview(path, img)).is_ok(),
            Err(_) => true,
        },
    )
}

/// What the comparer is asked for: the images compared (their facts are read) and those of
/// them to decode.
type CompareRequest = (Vec<PathBuf>, Vec<PathBuf>);

/// Reads the facts of the images compared (answered with [`Event::ImageFacts`]), then decodes
/// those not decoded yet as the previewer does (each sent as a preview, or
/// [`Event::PictureFailed`]); a newer request replaces one waiting.
pub(in crate::tui) fn spawn_comparer(
    decode: DecodeOptions,
    tx: mpsc::Sender<Msg>,
) -> mpsc::Sender<CompareRequest> {
    spawn_latest(move |(all, missing): CompareRequest| {
        let facts = all
            .iter()
            .map(|p| {
                let f = Session::image_facts(p, &decode).map_err(|e| e.to_string());
                (p.clone(), f)
            })
            .collect();
        if tx.send(Event::ImageFacts(facts).into()).is_err() {
            return false;
        }
        missing.into_iter().all(|path| {
            let msg = match Session::preview(&path, &decode) {
                Ok(img) => Msg::Preview(path, img),
                Err(e) => Event::PictureFailed(path, e.to_string()).into(),
            };
            tx.send(msg).is_ok()
        })
    })
}
