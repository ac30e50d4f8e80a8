//! The jobs both clients give the engine beside indexing and clustering: neighbours, the odd
//! ones out, near-duplicates and their keepers, moving or trashing duplicates, exports,
//! montages and previews. Each is written here once, so that the command line and the
//! explorer follow the same rules.
//!
//! The questions about a collection alone (neighbours, outliers, near-duplicate groups) are
//! associated functions that need no store connection, so that a worker thread of the
//! explorer can ask them with nothing but the collection in hand.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::SystemTime;

use image::{DynamicImage, RgbImage};

use super::Session;
use crate::analysis::neighbours::{Neighbour, Select};
use crate::analysis::outliers::OUTLIER_K;
use crate::analysis::{duplicates, neighbours, outliers};
use crate::collection::ivf::{self, Ivf};
use crate::collection::{Collection, Hash, Precision};
use crate::decode::DecodeOptions;
use crate::dedupe::{Action, KeepRule, Member, Plan, file_facts, keeper_of, plan_chosen};
use crate::error::{Error, Result};
use crate::export::{ExportReport, Mode, folder_outside, fresh_target};
use crate::montage::{MontageOptions, montage, save_in_folder, write_montage};

/// A near-duplicate group's keeper by the keep rules (its index in the group; `None` when a
/// file of the group cannot be read now), each file's size in bytes and whether it stays
/// whatever the keeper ([`Member::stays`]: a symlink, or a file a symlink of the folder leads
/// to), row-aligned with the group (empty when the keeper is `None`).
pub type Keeper = (Option<usize>, Vec<u64>, Vec<bool>);

/// Pairs of contents marked "not duplicates" (content hashes, the smaller first), as
/// [`Session::not_duplicates`] reads them.
pub type NotDuplicates =
    std::collections::HashSet<(crate::collection::Hash, crate::collection::Hash)>;

/// What the explorer's compare view shows of a file beside its picture
/// ([`Session::image_facts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    /// Its size in bytes.
    pub bytes: u64,
    /// Its modification time.
    pub modified: SystemTime,
    /// Its format as people name it, recognised by content ("PNG", "JPEG XL", "CR2 (RAW)");
    /// `None` when it is not recognised.
    pub format: Option<String>,
    /// Width and height in pixels, as stored (before any EXIF rotation); `None` where
    /// neither the header nor a decode says (a camera RAW file, whose preview is smaller
    /// than its sensor; an SVG, drawn at any size).
    pub pixels: Option<(u32, u32)>,
}

/// The longest side, in pixels, of a decoded preview ([`Session::preview`]).
pub const PREVIEW_SIDE: u32 = 1024;

/// Collections from this size on are searched for near-duplicates in the explorer only when
/// asked ([`Session::duplicates_at_start`]): the size from which `dups` takes its pairs from
/// a kNN graph.
pub const DUPLICATES_AT_START_BELOW: usize = crate::analysis::duplicates::GRAPH_FROM;

/// What [`Session::similar_through_saved_index`] found.
#[derive(Debug)]
pub struct FoundSimilar {
    /// The images read (paths, hashes, vectors): the probed cells' and the query's own.
    pub images: Collection,
    /// The nearest, as rows of `images`, closest first.
    pub neighbours: Vec<Neighbour>,
    /// The query's own row in `images`, when it is an image of the folder.
    pub own_row: Option<usize>,
}

impl Session {
    /// The images of `c` nearest to the unit vector `query` (of `c`'s dimension), most
    /// similar first, as `select` asks (the nearest n, or all within a cosine distance);
    /// `own_row`, the query's own row in `c` if it is one, is left out. Once `c` has its
    /// neighbour index ([`Session::prepare_search`]) the nearest n are found through it.
    pub fn similar(
        c: &Collection,
        query: &[f32],
        select: Select,
        own_row: Option<usize>,
    ) -> Vec<Neighbour> {
        neighbours::query(c, query, select, own_row)
    }

    /// The `n` images of `c` nearest to the image at `row` (not itself), most similar first
    /// ([`Session::nearest`]). `row` must be a row of `c`.
    ///
    /// Fails when the store cannot be read.
    pub fn neighbours_of(&self, c: &Collection, row: usize, n: usize) -> Result<Vec<Neighbour>> {
        self.nearest(c, &c.row(row), n, Some(row))
    }

    /// The `n` images of `c` nearest to the unit vector `query`, most similar first, leaving
    /// out `own_row` (the query's own row, if it is one), as [`Session::similar`] finds them.
    /// In a collection read in 8 bits ([`Session::keep_vectors_in_bytes_from`]) the
    /// [`neighbours::shortlist`] found on the codes is re-ranked on the images' exact vectors,
    /// read from the store (and `own_row`'s, in place of `query`): the distances are those of
    /// half precision.
    ///
    /// Fails when the store cannot be read or a vector is damaged.
    pub fn nearest(
        &self,
        c: &Collection,
        query: &[f32],
        n: usize,
        own_row: Option<usize>,
    ) -> Result<Vec<Neighbour>> {
        let nearest = Select::Nearest(n);
        if c.vectors.precision() != Precision::Byte {
            return Ok(Self::similar(c, query, nearest, own_row));
        }
        let found = Self::similar(c, query, Select::Nearest(neighbours::shortlist(n)), own_row);
        let rows: Vec<usize> = found.iter().map(|f| f.index).chain(own_row).collect();
        let files = Collection {
            paths: rows.iter().map(|&i| c.paths[i].clone()).collect(),
            hashes: rows.iter().map(|&i| c.hashes[i]).collect(),
            ..Collection::default()
        };
        let exact = self.read_vectors_in(files, Precision::Half)?;
        if exact.dim() != c.dim() {
            // `c` is of another space than this session's now (`f` was pressed meanwhile).
            let mut found = found;
            found.truncate(n);
            return Ok(found);
        }
        let at: HashMap<&Path, usize> = (exact.paths.iter().enumerate())
            .map(|(k, p)| (p.as_path(), k))
            .collect();
        let row_of = |i: usize| at.get(c.paths[i].as_path()).copied();
        let query = match own_row.and_then(row_of) {
            Some(k) => exact.row(k),
            None => query.to_vec(),
        };
        let similarity = |i| row_of(i).map(|k| exact.vectors.dot(k, &query));
        Ok(neighbours::rerank(found, similarity, n))
    }

    /// The `n` nearest neighbours of every image of `c`, row by row
    /// ([`neighbours::knn_graph`]).
    pub fn neighbour_graph(c: &Collection, n: usize) -> Vec<Vec<Neighbour>> {
        neighbours::knn_graph(c, n)
    }

    /// Gives a large `c` (from `index.neighbour_index_from` images, 50,000 unless
    /// configured; the collection of this session's folder) its neighbour index, once: the
    /// saved one, fitted to the images that came and went since, or a new one, trained
    /// (9–13 s at a million images on two cores) and saved. A saved index is saved again when
    /// it had not seen 1 % of the images, and trained again when it had not seen half of them
    /// or the folder grew so that its cells hold 4 times the rows they were made for. Searches
    /// that come meanwhile scan every row. A store that cannot be read or written costs only
    /// the saving: the index is made in memory.
    pub fn prepare_search(&self, c: &Collection) {
        if !self.wants_search_index(c.len()) || c.index.get().is_some() {
            return;
        }
        let saved = self
            .store
            .load_ivf(&self.root, &self.feature, c)
            .ok()
            .flatten();
        let (index, save) = match saved {
            // Grown fourfold, or mostly new images: cells made for other pictures.
            Some((index, unseen))
                if ivf::cells_for(c.len()) > 2 * index.cells() || unseen * 2 > c.len() =>
            {
                (Ivf::train(&c.vectors), true)
            }
            Some((index, unseen)) => (index, unseen * 100 >= c.len()),
            None => (Ivf::train(&c.vectors), true),
        };
        if save {
            let _ = self.store.save_ivf(&self.root, &self.feature, c, &index);
        }
        let _ = c.index.set(index);
    }

    /// The `n` images of this session's folder nearest to `image` (a file of the folder, or
    /// outside it: then `bytes` are embedded; given as the paths a walk may have named it,
    /// [`crate::scan::paths_as_walked`]), reading only the vectors the saved neighbour
    /// index points at: the probed cells', the query's own and those of images new to the
    /// index. What one `similar` needs at a million images: a tenth of the vectors.
    ///
    /// Returns the [`FoundSimilar`]; `None` when the folder is below the index's threshold,
    /// has no saved index (or one of another width), 1 % of its images are new to it, or the
    /// probed cells hold fewer than `n` images: the caller then reads every vector. Fails when
    /// the store cannot be read, or the bytes cannot be embedded.
    pub fn similar_through_saved_index(
        &self,
        image: &[PathBuf],
        bytes: &[u8],
        n: usize,
    ) -> Result<Option<FoundSimilar>> {
        let files = self.store.files(&self.root)?;
        if !self.wants_search_index(files.len()) {
            return Ok(None);
        }
        let Some((centroids, cell_of)) = self.store.ivf_parts(&self.root, &self.feature)? else {
            return Ok(None);
        };
        let cell: Vec<Option<u32>> = files
            .hashes
            .iter()
            .map(|h| cell_of.get(h).copied())
            .collect();
        drop(cell_of);
        if cell.iter().filter(|c| c.is_none()).count() * 100 >= files.len() {
            return Ok(None);
        }
        let subset = |rows: &[usize]| Collection {
            paths: rows.iter().map(|&i| files.paths[i].clone()).collect(),
            hashes: rows.iter().map(|&i| files.hashes[i]).collect(),
            ..Collection::default()
        };
        let own = image
            .iter()
            .find_map(|spelt| files.paths.iter().position(|p| p == spelt));
        let query = match own {
            Some(i) => match self.read_vectors(subset(&[i]))? {
                one if one.len() == 1 => one.row(0),
                _ => return Ok(None),
            },
            None => self.embed(bytes)?,
        };
        if query.len() != centroids.cols {
            return Ok(None);
        }
        let mut probed = vec![false; centroids.rows];
        for c in ivf::nearest_centroids(&centroids, &query, ivf::default_probes(centroids.rows)) {
            probed[c] = true;
        }
        let rows: Vec<usize> = (0..files.len())
            .filter(|&i| Some(i) == own || cell[i].is_none_or(|c| probed[c as usize]))
            .collect();
        if rows.len() < n.saturating_add(1) {
            return Ok(None); // a longer list than the probed cells hold: every vector
        }
        let read = self.read_vectors(subset(&rows))?;
        let own_row = own.and_then(|i| read.paths.iter().position(|p| *p == files.paths[i]));
        let neighbours = neighbours::exact_query(&read, &query, Select::Nearest(n), own_row);
        Ok(Some(FoundSimilar {
            images: read,
            neighbours,
            own_row,
        }))
    }

    /// Whether a folder of `images` images gets a neighbour index.
    fn wants_search_index(&self, images: usize) -> bool {
        let from = self.config.index.neighbour_index_from;
        from > 0 && images >= from
    }

    /// After `summary`'s index run of this session's folder: makes or updates its saved
    /// neighbour index ([`Session::prepare_search`]) when the folder is large enough and
    /// has none, or images came, changed or went; returns the index made, if any (a run
    /// that changed nothing reads no vector). Fails when the vectors cannot be read.
    pub fn refresh_search_index(&self, summary: &crate::index::Summary) -> Result<Option<Ivf>> {
        if summary.interrupted || summary.shard.is_some() || !self.wants_search_index(summary.found)
        {
            return Ok(None);
        }
        let changed = summary.embedded + summary.changed + summary.removed > 0;
        if !changed && self.store.has_ivf(&self.root, &self.feature)? {
            return Ok(None);
        }
        let c = self.collection()?;
        self.prepare_search(&c);
        Ok(c.index.into_inner())
    }

    /// Gives a large `c` the saved neighbour index of this session's folder, if there is
    /// one ([`Session::prepare_search`] without training or saving): what one query needs.
    pub fn use_saved_search_index(&self, c: &Collection) {
        if !self.wants_search_index(c.len()) || c.index.get().is_some() {
            return;
        }
        if let Ok(Some((index, _))) = self.store.load_ivf(&self.root, &self.feature, c) {
            let _ = c.index.set(index);
        }
    }

    /// Whether the explorer looks for the near-duplicates of `c` as soon as its vectors are
    /// in: below [`DUPLICATES_AT_START_BELOW`] images. Above it, `d` asks: the search reads
    /// every image's pixel signature, and at a million images takes minutes and gigabytes
    /// (BENCHMARKS.md), which a start should not cost.
    pub fn duplicates_at_start(c: &Collection) -> bool {
        c.len() < DUPLICATES_AT_START_BELOW
    }

    /// The odd ones out of `c`: every row with its mean cosine distance to its
    /// [`OUTLIER_K`] nearest neighbours, most odd first.
    pub fn outliers(c: &Collection) -> Vec<(usize, f32)> {
        outliers::outliers(c, OUTLIER_K)
    }

    /// The exact and same-picture groups of `c` (rows of `c`, each group in row order:
    /// candidates from the embedding confirmed on the pixels, the store's signatures and
    /// thumbnails, see [`duplicates::tiered`]; pairs only similar at `threshold` are left out,
    /// so the explorer never acts on them), without the pairs marked not duplicates in `apart`
    /// (from [`Session::not_duplicates`]), and each group's [`Keeper`] by `rules`. Files are
    /// looked at (size, time, header) but not decoded.
    ///
    /// A store that cannot be read confirms nothing: then only exact copies are grouped.
    pub fn near_duplicates(
        &self,
        c: &Collection,
        threshold: f32,
        rules: &[KeepRule],
        apart: &NotDuplicates,
    ) -> (Vec<Vec<usize>>, Vec<Keeper>) {
        let candidates = duplicates::candidates(c, threshold);
        let read = |hashes: &[Hash]| Ok(self.store.signatures(hashes).unwrap_or_default());
        let pixels = duplicates::Pixels {
            signatures: &read,
            pictures: &self.store,
        };
        let groups: Vec<Vec<(usize, bool)>> =
            duplicates::tiered(c, candidates, &pixels, apart, false)
                .expect("the lenient reader never fails")
                .groups
                .into_iter()
                .filter(|g| g.tier != duplicates::Tier::Similar)
                .map(|g| crate::dedupe::one_path_per_file(&c.paths, g.rows))
                .filter(|rows| rows.len() > 1)
                .collect();
        let keepers = groups
            .iter()
            .map(|group| {
                let paths: Vec<PathBuf> = group.iter().map(|&(i, _)| c.paths[i].clone()).collect();
                let members: Option<Vec<Member>> = file_facts(&paths)
                    .into_iter()
                    .zip(group)
                    .map(|(facts, &(i, linked))| {
                        Some(Member::new(facts.ok()?, c.hashes[i], linked))
                    })
                    .collect();
                match members {
                    Some(members) => (
                        Some(keeper_of(&members, rules)),
                        members.iter().map(|m| m.facts.bytes).collect(),
                        members.iter().map(Member::stays).collect(),
                    ),
                    None => (None, Vec::new(), Vec::new()),
                }
            })
            .collect();
        let groups = groups
            .into_iter()
            .map(|g| g.into_iter().map(|(i, _)| i).collect())
            .collect();
        (groups, keepers)
    }

    /// The plan that keeps the first file of each group (the user's keeper) and moves the
    /// others into `folder`, or trashes them for `None`: groups as (keeper, copies), paths of
    /// `c`. `folder` is placed as the explorer places its folders (`./imgtui-duplicates`, or
    /// beside the collection when the working folder is inside it: see
    /// [`crate::export::folder_outside`]). Files that cannot be read now, or are not in `c`,
    /// are left out, and a group whose keeper is left out keeps everything. Carry it out
    /// with [`Session::dedupe_execute`].
    ///
    /// Fails with [`crate::ErrorKind::BadRequest`] when the folder would be inside the
    /// collection.
    pub fn plan_kept(
        &self,
        c: &Collection,
        groups: &[(PathBuf, Vec<PathBuf>)],
        folder: Option<&Path>,
    ) -> Result<Plan> {
        let action = match folder {
            Some(f) => Action::Move(folder_outside(self.root(), &f.to_string_lossy())?)
                .checked(self.root(), &self.linked_folders())?,
            None => Action::Trash,
        };
        // Each named path's row, and whether a symlink of the collection leads to its file,
        // found in one pass over the collection.
        let named: HashSet<&Path> = groups
            .iter()
            .flat_map(|(kept, copies)| std::iter::once(kept).chain(copies))
            .map(PathBuf::as_path)
            .collect();
        let rows: Vec<usize> = (0..c.len())
            .filter(|&i| named.contains(c.paths[i].as_path()))
            .collect();
        let linked = crate::dedupe::reached_by_others(&c.paths, &c.hashes, &rows);
        let row_of: HashMap<&Path, (usize, bool)> = rows
            .iter()
            .zip(linked)
            .map(|(&i, l)| (c.paths[i].as_path(), (i, l)))
            .collect();
        let mut chosen = Vec::new();
        for (kept, copies) in groups {
            let paths: Vec<PathBuf> = std::iter::once(kept).chain(copies).cloned().collect();
            let members: Vec<Member> = file_facts(&paths)
                .into_iter()
                .zip(&paths)
                .filter_map(|(facts, p)| {
                    let &(i, linked) = row_of.get(p.as_path())?;
                    Some(Member::new(facts.ok()?, c.hashes[i], linked))
                })
                .collect();
            // The keeper must be there for its copies to go.
            if members.first().is_some_and(|m| m.facts.path == *kept) && members.len() > 1 {
                chosen.push((members, 0));
            }
        }
        Ok(plan_chosen(self.root(), chosen, &action))
    }

    /// Refuses `target`, a folder for files out (an export, a montage), when it is inside
    /// the collection (the folder, or a folder it reaches through a symlink): the files would
    /// join it on its next index.
    ///
    /// Fails with [`crate::ErrorKind::BadRequest`] when it is inside, and when the working
    /// folder cannot be read.
    pub fn check_outside(&self, target: &Path) -> Result<()> {
        Ok(crate::export::check_outside_of(
            target,
            self.root(),
            &self.linked_folders(),
        )?)
    }

    /// The symlinks to folders a walk of this session's folder follows now
    /// ([`crate::scan::Scan::linked`]): what, besides the folder, is inside the collection.
    /// Walks the folder (a second at a million images).
    pub fn linked_folders(&self) -> Vec<PathBuf> {
        crate::scan::scan(self.root()).linked
    }

    /// Copies (or links, by `mode`) `files` into the folder `target`, created if needed,
    /// never overwriting: see [`crate::export::export`]. `progress` hears how many files are
    /// done after each; raising `cancel` stops before the next file (the report counts those
    /// not attempted). The caller checks `target` with [`Session::check_outside`] first, or
    /// lets the user put it inside.
    ///
    /// Fails with [`crate::ErrorKind::BadRequest`] when `target` is not a folder, or is not
    /// empty without `merge`, and when it cannot be created; a file that cannot be exported
    /// is listed in the report instead.
    pub fn export(
        &self,
        files: &[PathBuf],
        target: &Path,
        mode: Mode,
        merge: bool,
        progress: &dyn Fn(usize),
        cancel: &AtomicBool,
    ) -> Result<ExportReport> {
        Ok(crate::export::export_with(
            files, target, mode, merge, progress, cancel,
        )?)
    }

    /// The export folder to offer for `suggestion` (e.g. `imgtui-export/03-rings`): placed
    /// outside the collection and made fresh by `-2`, `-3`… ([`crate::export::fresh_target`]).
    pub fn fresh_export_folder(&self, suggestion: &Path) -> PathBuf {
        fresh_target(self.root(), suggestion)
    }

    /// How montages are drawn: thumbnails `thumb` pixels square (160 for `None`), images
    /// decoded as for indexing.
    fn montage_options(&self, thumb: Option<u32>) -> MontageOptions {
        let defaults = MontageOptions::default();
        MontageOptions {
            thumb: thumb.unwrap_or(defaults.thumb),
            decode: self.decode_options().clone(),
            ..defaults
        }
    }

    /// Draws a contact sheet of `files` (thumbnails `thumb` pixels square, 160 for `None`)
    /// and writes it as PNG to `out`, which must not exist yet.
    ///
    /// Fails with [`crate::ErrorKind::BadRequest`] when `out` exists (it is never replaced),
    /// and when it cannot be written.
    pub fn write_montage(&self, files: &[PathBuf], out: &Path, thumb: Option<u32>) -> Result<()> {
        write_montage(files, out, &self.montage_options(thumb))
            .map_err(|e| Error::with_kind(crate::ErrorKind::BadRequest, e))
    }

    /// Draws a contact sheet of `files` (thumbnails `thumb` pixels square, 160 for `None`) and
    /// saves it as `<stem>.png` in `folder` (made if needed), or as `<stem> (2).png`… when
    /// that name is taken: nothing is replaced. Returns the file written.
    ///
    /// Fails with [`crate::ErrorKind::BadRequest`] when the folder or the file cannot be
    /// written (the message says which).
    pub fn save_montage_in(
        &self,
        files: &[PathBuf],
        folder: &Path,
        stem: &str,
        thumb: Option<u32>,
    ) -> Result<PathBuf> {
        let sheet = montage(files, &self.montage_options(thumb));
        save_in_folder(&sheet, folder, stem)
            .map_err(|e| Error::with_kind(crate::ErrorKind::BadRequest, e))
    }

    /// Draws a contact sheet of `files` and saves it as `<stem>.png` (or `<stem> (2).png`…)
    /// in `imgtui-montage/`, in the working folder or, when that is inside the collection,
    /// beside the collection. Returns the file written and the sheet.
    ///
    /// Fails with [`crate::ErrorKind::BadRequest`] when both places are inside the collection,
    /// and when the folder or the file cannot be written (the message says which).
    pub fn save_montage(&self, files: &[PathBuf], stem: &str) -> Result<(PathBuf, RgbImage)> {
        let folder = folder_outside(self.root(), "imgtui-montage")?;
        let sheet = montage(files, &self.montage_options(None));
        let path = save_in_folder(&sheet, &folder, stem)?;
        Ok((path, sheet))
    }

    /// The image at `path` decoded with `options` (a session's
    /// [`Session::decode_options`]) for a preview: upright, composited, at most
    /// [`PREVIEW_SIDE`] pixels a side. Needs no store, so a worker holds no connection.
    ///
    /// Fails when the file cannot be read or decoded.
    pub fn preview(path: &Path, options: &DecodeOptions) -> Result<DynamicImage> {
        let bytes = std::fs::read(path)?;
        let img = crate::decode::decode(&bytes, options)
            .map_err(|e| Error::from(anyhow::Error::from(e)))?;
        // Previews never need more than a screenful of pixels.
        Ok(if img.width().max(img.height()) > PREVIEW_SIDE {
            img.thumbnail(PREVIEW_SIDE, PREVIEW_SIDE)
        } else {
            img
        })
    }

    /// The facts of the image at `path` ([`ImageFacts`]): size and time from its metadata,
    /// the format from its content, the pixels from its header, or, for JPEG XL, HEIF and
    /// AVIF, from decoding it with `options` (a session's [`Session::decode_options`]).
    /// Needs no store, so a worker holds no connection.
    ///
    /// Fails when the file cannot be read.
    pub fn image_facts(path: &Path, options: &DecodeOptions) -> Result<ImageFacts> {
        let meta = std::fs::metadata(path)?;
        let bytes = std::fs::read(path)?;
        let format = crate::decode::format_name(&bytes);
        let decodes = matches!(format.as_deref(), Some("JPEG XL" | "HEIF" | "AVIF"));
        let pixels = crate::decode::header_size(&bytes).or_else(|| {
            decodes
                .then(|| crate::decode::decode(&bytes, options).ok())
                .flatten()
                .map(|img| (img.width(), img.height()))
        });
        Ok(ImageFacts {
            bytes: meta.len(),
            modified: meta.modified()?,
            format,
            pixels,
        })
    }

    /// The cosine distance between rows `a` and `b` of `c` (0 for the same direction, up to
    /// 2): one minus the dot product of their unit vectors, never below 0. Both must be rows
    /// of `c`, and `c` must hold vectors.
    pub fn cosine_distance(c: &Collection, a: usize, b: usize) -> f32 {
        (1.0 - c.vectors.dot_rows(a, b)).max(0.0)
    }

    /// Folds the store's write-ahead log into the store file, so that the file alone holds
    /// everything (a backup, `imgtui store merge`): see [`crate::Store::checkpoint`].
    ///
    /// Fails when the store cannot be written.
    pub fn checkpoint(&self) -> Result<()> {
        Ok(self.store.checkpoint()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_facts_come_from_the_file_its_content_and_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("named.jpg");
        RgbImage::new(40, 30)
            .save_with_format(&path, image::ImageFormat::Png)
            .unwrap();
        let facts = Session::image_facts(&path, &DecodeOptions::default()).unwrap();
        assert_eq!(
            facts.format.as_deref(),
            Some("PNG"),
            "by content, not by name"
        );
        assert_eq!(facts.pixels, Some((40, 30)));
        assert_eq!(facts.bytes, std::fs::metadata(&path).unwrap().len());
        assert!(facts.modified > SystemTime::UNIX_EPOCH);
        let gone = dir.path().join("gone.png");
        assert!(Session::image_facts(&gone, &DecodeOptions::default()).is_err());
    }
}
