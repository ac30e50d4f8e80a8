//! Near-duplicate groups: pairs above a cosine similarity, joined into connected components.
//!
//! [`tiered`] sorts the pairs into tiers a person understands: **exact** (the same bytes),
//! **same picture** (the embedding finds the pair, loosely, and the pixels confirm it: the
//! signatures of [`crate::decode::signature`], then a finer look at the thumbnails) and
//! **similar** (alike to the embedding at the threshold asked for, not confirmed by the
//! pixels).
//!
//! Comparing every pair of full vectors costs n² · dim; from [`FILTER_FROM`] images on, pairs
//! are first screened in a 64-dimensional PCA projection. Projecting onto orthonormal axes
//! never lengthens a difference, so a pair too far apart there is too far apart in full: the
//! screen loses no pair, and every pair it passes is checked exactly.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use rayon::prelude::*;

use crate::collection::{Collection, Hash};
use crate::decode::signature;

use super::clustering::Pictures;

use super::neighbours::for_each_block;
use super::pca::Pca;
use crate::collection::matrix::gemm;

/// Cosine similarity above which two images count as near-duplicates, unless told otherwise.
pub const DUPLICATE_THRESHOLD: f32 = 0.95;

/// Checks a near-duplicate threshold: a cosine similarity in 0..=1. The error is the rule,
/// for the caller to prefix with where the value came from.
pub fn check_threshold(threshold: f32) -> Result<f32, &'static str> {
    if (0.0..=1.0).contains(&threshold) {
        Ok(threshold)
    } else {
        Err("a cosine similarity between 0 and 1")
    }
}

/// Copies fall further from their original than the threshold (a JPEG at quality 50 to cosine
/// 0.70, a 25 % resize to 0.80 on `bench/make_dup_set.py`), so [`tiered`] also offers the
/// pixel check each image's [`LOOSE_NEIGHBOURS`] nearest down to this similarity. Those pairs
/// are kept only when the pixels confirm them.
pub const LOOSE_SIMILARITY: f32 = 0.70;

/// How many nearest images of each image [`tiered`] checks down to [`LOOSE_SIMILARITY`]: on
/// `bench/make_dup_set.py`, where each picture has eight copies, a copy was among its
/// original's 16 nearest (or the original among the copy's) in 382 cases of 384, and the
/// other two were joined to it through another copy.
pub const LOOSE_NEIGHBOURS: usize = 16;

/// Collections from this size on screen pairs in a PCA projection first.
pub const FILTER_FROM: usize = 5_000;

/// Dimensions of the screening projection.
const SCREEN_DIMS: usize = 64;

/// Groups of images whose vectors are at least `threshold` similar (directly or through a chain),
/// largest group first, each sorted by row. Images without a near-duplicate are left out.
pub fn groups(c: &Collection, threshold: f32) -> Vec<Vec<usize>> {
    groups_apart(c, threshold, &HashSet::new())
}

/// [`groups`] without the pairs of contents in `apart` (content hashes, the smaller first:
/// pairs the user marked "not duplicates"), which are dropped before the pairs are joined. Two
/// images of a marked pair are still grouped when a third image is a near-duplicate of both;
/// marking every pair of a group (what marking a group does) parts all of them.
pub fn groups_apart(
    c: &Collection,
    threshold: f32,
    apart: &HashSet<(Hash, Hash)>,
) -> Vec<Vec<usize>> {
    let mut pairs = pairs(c, threshold);
    keep_together(c, &mut pairs, apart);
    join(c.len(), pairs)
}

/// Drops from `pairs` those whose contents are in `apart` (the smaller hash first).
fn keep_together(c: &Collection, pairs: &mut Vec<(usize, usize)>, apart: &HashSet<(Hash, Hash)>) {
    if !apart.is_empty() {
        pairs.retain(|&(i, j)| {
            let (a, b) = (c.hashes[i], c.hashes[j]);
            !apart.contains(&(a.min(b), a.max(b)))
        });
    }
}

/// Every pair `(i, j)`, `i < j`, at least `threshold` similar (screened in a PCA projection
/// from [`FILTER_FROM`] images on). From [`GRAPH_FROM`] images on, the pairs among each
/// image's [`LOOSE_NEIGHBOURS`] nearest instead ([`graph_pairs`]): the same groups wherever a
/// group's members are linked through such pairs.
pub fn pairs(c: &Collection, threshold: f32) -> Vec<(usize, usize)> {
    if c.len() >= GRAPH_FROM && threshold > 0.0 {
        let knn = neighbour_graph(c);
        graph_pairs(&knn, threshold..=1.0)
    } else if c.len() >= FILTER_FROM && threshold > 0.0 {
        screened_pairs(c, threshold)
    } else {
        all_pairs(c, threshold)
    }
}

/// Collections from this size on take their pairs from the approximate kNN graph
/// ([`super::umap::knn`], NN-descent from [`super::umap::DESCENT_FROM`] on) instead of
/// screening every pair: the screen's run of rows within reach grows with n, to all 10¹² pairs
/// at a million images.
pub const GRAPH_FROM: usize = super::umap::DESCENT_FROM;

/// Each image's [`LOOSE_NEIGHBOURS`] nearest by cosine distance (candidates in a PCA
/// projection, re-ranked exactly).
fn neighbour_graph(c: &Collection) -> Vec<Vec<super::neighbours::Neighbour>> {
    if c.len() < FILTER_FROM {
        return super::neighbours::knn_graph(c, LOOSE_NEIGHBOURS);
    }
    let x = Pca::fit(&c.vectors, SCREEN_DIMS, 0).project(&c.vectors);
    super::umap::knn(c, &x, LOOSE_NEIGHBOURS, 0)
}

/// [`candidates`] for a collection whose vectors can be read again: from [`GRAPH_FROM`]
/// images on, its vectors are let go once projected for the screen, and `reread` gives the
/// collection back (from the paths and hashes it is handed) for the exact re-rank, so that
/// the vectors (2.6 GB at a million images) and NN-descent's lists never share memory. The
/// same pairs as [`candidates`] gives when `reread` gives the same vectors.
///
/// Fails when `reread` fails, or gives back other images than it was handed.
pub fn candidates_rereading(
    c: &mut Collection,
    threshold: f32,
    reread: impl FnOnce(Collection) -> anyhow::Result<Collection>,
) -> anyhow::Result<Candidates> {
    if c.len() < GRAPH_FROM || c.len() < FILTER_FROM || threshold <= 0.0 {
        return Ok(candidates(c, threshold));
    }
    rereading(c, threshold, reread)
}

/// [`candidates_rereading`] through the kNN graph whatever the size.
fn rereading(
    c: &mut Collection,
    threshold: f32,
    reread: impl FnOnce(Collection) -> anyhow::Result<Collection>,
) -> anyhow::Result<Candidates> {
    let x = Pca::fit(&c.vectors, SCREEN_DIMS, 0).project(&c.vectors);
    let files = Collection {
        paths: std::mem::take(&mut c.paths),
        hashes: std::mem::take(&mut c.hashes),
        ..Collection::default()
    };
    *c = Collection::default();
    super::give_back_freed_memory();
    let n = files.len();
    let how = super::umap::Candidates::for_size(n, 0);
    let found = super::umap::knn_candidates(&x, LOOSE_NEIGHBOURS, how);
    drop(x);
    // A reader keeps the files' order and leaves out only those it has no vector for.
    *c = reread(files)?;
    anyhow::ensure!(
        c.len() == n,
        "the store changed while the near-duplicates were looked for: run it again"
    );
    let knn = super::umap::rerank(c, found, LOOSE_NEIGHBOURS);
    Ok(Candidates {
        strong: graph_pairs(&knn, threshold..=1.0),
        loose: loose_of(&knn, threshold),
    })
}

/// The pairs `(i, j)`, `i < j`, where `j` is in `i`'s row of `knn` or `i` in `j`'s, whose
/// cosine similarity lies in `similar`; sorted, each once.
fn graph_pairs(
    knn: &[Vec<super::neighbours::Neighbour>],
    similar: std::ops::RangeInclusive<f32>,
) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = knn
        .iter()
        .enumerate()
        .flat_map(|(i, row)| {
            let similar = similar.clone();
            row.iter().filter_map(move |n| {
                (n.index != i && similar.contains(&(1.0 - n.distance)))
                    .then_some((i.min(n.index), i.max(n.index)))
            })
        })
        .collect();
    out.par_sort_unstable();
    out.dedup();
    out
}

/// How alike the images of a pair or a group are.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// The same bytes (blake3 hash).
    Exact,
    /// The same picture: the pixel signatures agree (a re-encode, resize, small crop or
    /// small tone change).
    SamePicture,
    /// Alike to the embedding only: perhaps two pictures of one style.
    Similar,
}

impl Tier {
    /// `exact`, `same-picture` or `similar`, as JSON and CSV write it.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Exact => "exact",
            Tier::SamePicture => "same-picture",
            Tier::Similar => "similar",
        }
    }
}

/// A group of [`tiered`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TieredGroup {
    /// Rows of the collection, ascending.
    pub rows: Vec<usize>,
    /// Exact when every image has the same content; same picture when the confirmed pairs
    /// alone join them; else similar.
    pub tier: Tier,
}

/// What [`tiered`] found.
#[derive(Debug, Clone, Default)]
pub struct Tiered {
    /// Exact and same-picture groups first, then similar ones; largest first within a tier.
    pub groups: Vec<TieredGroup>,
    /// Pairs alike to the embedding at the threshold that could not be checked
    /// on their pixels, because an image of the pair has no signature (indexed before
    /// signatures were kept: `imgtui index` makes them).
    pub unconfirmed: usize,
}

/// What the pixel check of [`tiered`] reads, by content hash.
pub struct Pixels<'a> {
    /// The contents' signatures ([`signature::signature`]), read a block of contents at a
    /// time; a pair with a content without one is not confirmed.
    pub signatures: &'a dyn Signatures,
    /// Each content's picture (the store's thumbnail), for the finer check
    /// ([`signature::fine_difference`]); a pair with a content without one is not confirmed.
    pub pictures: &'a dyn Pictures,
}

/// Gives contents' pixel signatures to [`tiered`], a block of contents at a time.
pub trait Signatures {
    /// The valid signatures ([`signature::is_valid`]) of those of `hashes` that have one, by
    /// content hash.
    ///
    /// Fails when they cannot be read.
    fn read(&self, hashes: &[Hash]) -> anyhow::Result<HashMap<Hash, Vec<u8>>>;
}

/// The store's signatures, as [`Store::signatures`](crate::store::Store::signatures) reads them.
impl Signatures for crate::store::Store {
    fn read(&self, hashes: &[Hash]) -> anyhow::Result<HashMap<Hash, Vec<u8>>> {
        self.signatures(hashes)
    }
}

/// Any function from hashes to signatures, such as a reader that gives nothing when the
/// store cannot be read.
impl<F> Signatures for F
where
    F: Fn(&[Hash]) -> anyhow::Result<HashMap<Hash, Vec<u8>>>,
{
    fn read(&self, hashes: &[Hash]) -> anyhow::Result<HashMap<Hash, Vec<u8>>> {
        self(hashes)
    }
}

/// How many contents' signatures [`tiered`] reads at once (3 KB each, so about 0.8 GB): the
/// candidates' contents are cut into blocks of this many, in hash order, and the pairs are
/// checked a pair of blocks at a time, so at most two blocks are held whatever the
/// collection's size (at a million images, four blocks and ten block reads instead of
/// 2.9 GiB at once).
const SIGNATURE_BLOCK: usize = 1 << 18;

/// How many signatures the check of pairs the embedding did not offer ([`cliques`]) keeps
/// read at once (about 12 MB); past it the cache starts again.
const SIGNATURES_KEPT: usize = 4096;

/// How many candidate pairs [`tiered`] compares on their signatures at once.
const SIGNED_CHUNK: usize = 1 << 16;

/// How many fine maps (14 KB each, so about 60 MB) [`tiered`] keeps at once; past it the
/// cache starts again, so memory stays bounded whatever the collection's size.
const FINE_MAPS_KEPT: usize = 4096;

/// The pairs of rows `(i, j)`, `i < j`, that the embedding proposes as near-duplicates, each
/// list sorted, each pair once: what [`tiered`] checks on the pixels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Candidates {
    /// Every pair at cosine ≥ the threshold.
    pub strong: Vec<(usize, usize)>,
    /// Pairs among each image's [`LOOSE_NEIGHBOURS`] nearest, down to [`LOOSE_SIMILARITY`],
    /// below the threshold only.
    pub loose: Vec<(usize, usize)>,
}

/// The content hashes of the rows in some pair of `strong` or `loose`, sorted, each once:
/// whose pixel signatures [`tiered`] reads.
fn contents_of(c: &Collection, strong: &[(usize, usize)], loose: &[(usize, usize)]) -> Vec<Hash> {
    let mut out: Vec<Hash> = strong
        .iter()
        .chain(loose)
        .flat_map(|&(i, j)| [c.hashes[i], c.hashes[j]])
        .collect();
    out.par_sort_unstable();
    out.dedup();
    out
}

/// The candidate pairs of `c` at `threshold` (cosine similarity): every pair at least that
/// similar, and each image's [`LOOSE_NEIGHBOURS`] nearest down to [`LOOSE_SIMILARITY`]. The
/// only step of the near-duplicate search that reads the vectors; from [`GRAPH_FROM`]
/// images on both come from one approximate kNN graph.
pub fn candidates(c: &Collection, threshold: f32) -> Candidates {
    let (strong, loose) = if c.len() >= GRAPH_FROM && threshold > 0.0 {
        let knn = neighbour_graph(c);
        (
            graph_pairs(&knn, threshold..=1.0),
            loose_of(&knn, threshold),
        )
    } else {
        (pairs(c, threshold), loose_pairs(c, threshold))
    };
    Candidates { strong, loose }
}

/// The near-duplicate groups of `c` in tiers, from the embedding's [`Candidates`] (see
/// [`candidates`]): only `c.hashes` are read, so the vectors may be gone by now. A pair is
/// exact when its hashes are equal, and same picture when the [`Pixels`] confirm it: the
/// signatures agree ([`signature::Likeness::agrees`]), then the fine maps of the thumbnails at
/// the alignment the signatures chose differ by at most [`signature::MAX_FINE_DIFFERENCE`]. A
/// pair at the threshold that is not confirmed is similar; a looser one is dropped. Pairs of
/// contents in `apart` (marked not duplicates, see [`groups_apart`]) are dropped first.
///
/// The signatures are read [`SIGNATURE_BLOCK`] contents at a time (in hash order), and each
/// pair is compared while the blocks of both its contents are held: at most two blocks,
/// about 1.6 GB, whatever the collection's size.
///
/// The exact and same-picture groups are cliques of the confirmed pairs ([`cliques`]): every
/// two images of such a group were confirmed against each other, so whichever is kept, each
/// other one is the same picture as it. A chain (smooth gradients each a shade from the next)
/// is not one group. With `include_similar` the similar pairs join them: each component of
/// all pairs is one group, so no image is in two. Without it the components that similar
/// pairs make are listed after them as similar groups, which may hold images of an exact or
/// same-picture group.
///
/// Fails when the signatures cannot be read.
pub fn tiered(
    c: &Collection,
    candidates: Candidates,
    pixels: &Pixels,
    apart: &HashSet<(Hash, Hash)>,
    include_similar: bool,
) -> anyhow::Result<Tiered> {
    tiered_in_blocks(
        c,
        candidates,
        pixels,
        apart,
        include_similar,
        SIGNATURE_BLOCK,
    )
}

/// [`tiered`], reading the signatures `block` contents at a time.
fn tiered_in_blocks(
    c: &Collection,
    candidates: Candidates,
    pixels: &Pixels,
    apart: &HashSet<(Hash, Hash)>,
    include_similar: bool,
    block: usize,
) -> anyhow::Result<Tiered> {
    let Candidates {
        mut strong,
        mut loose,
    } = candidates;
    keep_together(c, &mut strong, apart);
    keep_together(c, &mut loose, apart);
    let hashes = contents_of(c, &strong, &loose);
    let blocks = hashes.len().div_ceil(block);
    // The block of each row's content (rows in no pair are in none), and the pairs of blocks
    // that some pair of rows spans.
    let block_of: Vec<usize> = c
        .hashes
        .par_iter()
        .map(|h| hashes.binary_search(h).map_or(usize::MAX, |at| at / block))
        .collect();
    let spanned = |&(i, j): &(usize, usize)| {
        let (x, y) = (block_of[i], block_of[j]);
        (x.min(y), x.max(y))
    };
    let mut spans = vec![false; blocks * blocks];
    for pair in strong.iter().chain(&loose) {
        let (x, y) = spanned(pair);
        spans[x * blocks + y] = true;
    }
    let read_block = |b: usize| {
        let end = ((b + 1) * block).min(hashes.len());
        pixels.signatures.read(&hashes[b * block..end])
    };
    let mut maps: HashMap<(Hash, u64), Option<Rc<signature::FineMap>>> = HashMap::new();
    let mut fine_map = |hash: Hash, fraction: f64| -> Option<Rc<signature::FineMap>> {
        if maps.len() >= FINE_MAPS_KEPT {
            maps.clear();
        }
        maps.entry((hash, fraction.to_bits()))
            .or_insert_with(|| {
                let picture = pixels.pictures.picture(&hash)?;
                Some(Rc::new(signature::fine_map(&picture, fraction)))
            })
            .clone()
    };
    // Whether rows i and j are the same picture by the fine check, given their signatures'
    // likeness; `None` when a picture is missing.
    let mut fine_check = |i: usize, j: usize, l: signature::Likeness| -> Option<bool> {
        // Flat signatures cannot tell the alignment: every one is looked at.
        let tries = if l.flat {
            &signature::ALIGNMENTS[..]
        } else {
            std::slice::from_ref(&l.fractions)
        };
        tries
            .iter()
            .map(
                |&(fa, fb)| match (fine_map(c.hashes[i], fa), fine_map(c.hashes[j], fb)) {
                    (Some(a), Some(b)) => {
                        Some(signature::fine_difference(&a, &b).unwrap_or(f32::MAX))
                    }
                    _ => None,
                },
            )
            .collect::<Option<Vec<f32>>>()
            .map(|d| d.into_iter().any(|d| d <= signature::MAX_FINE_DIFFERENCE))
    };
    let mut confirmed = Vec::new();
    let mut similar = Vec::new();
    let mut unconfirmed = 0;
    // The pairs whose signatures agree, by their place in `strong` then `loose`, for the fine
    // check once the signatures are let go.
    let mut agreeing: Vec<(usize, signature::Likeness)> = Vec::new();
    for a in 0..blocks {
        let first = read_block(a)?;
        for b in a..blocks {
            if !spans[a * blocks + b] {
                continue;
            }
            let second = if b == a { None } else { Some(read_block(b)?) };
            let held = |h: &Hash| first.get(h).or_else(|| second.as_ref()?.get(h));
            let likeness = |i: usize, j: usize| match (held(&c.hashes[i]), held(&c.hashes[j])) {
                (Some(x), Some(y)) => signature::compare(x, y),
                _ => None,
            };
            for (pairs, at_threshold, offset) in [(&strong, true, 0), (&loose, false, strong.len())]
            {
                // By chunks, so that the pairs (up to 16 an image) never hold a likeness each
                // (40 bytes) beside the signatures.
                for (k, chunk) in pairs.chunks(SIGNED_CHUNK).enumerate() {
                    let signed: Vec<(usize, Option<signature::Likeness>)> = chunk
                        .par_iter()
                        .enumerate()
                        .filter(|(_, pair)| spanned(pair) == (a, b))
                        .map(|(at, &(i, j))| (offset + k * SIGNED_CHUNK + at, likeness(i, j)))
                        .collect();
                    for (place, likeness) in signed {
                        let (i, j) = pairs[place - offset];
                        match likeness {
                            _ if c.hashes[i] == c.hashes[j] => confirmed.push((i, j)),
                            Some(l) if l.agrees() => agreeing.push((place, l)),
                            other if at_threshold => {
                                unconfirmed += usize::from(other.is_none());
                                similar.push((i, j));
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    agreeing.sort_unstable_by_key(|&(place, _)| place);
    for (place, l) in agreeing {
        let ((i, j), at_threshold) = match place.checked_sub(strong.len()) {
            None => (strong[place], true),
            Some(at) => (loose[at], false),
        };
        match fine_check(i, j, l) {
            Some(true) => confirmed.push((i, j)),
            other if at_threshold => {
                unconfirmed += usize::from(other.is_none());
                similar.push((i, j));
            }
            _ => {}
        }
    }
    drop((strong, loose, block_of));
    // A pair of one component the embedding did not offer (a 25 % copy outside its
    // original's nearest, joined through another copy) is checked when a group needs it, on
    // signatures read then (a component at a time, so a few are kept).
    let apart_pair = |i: usize, j: usize| {
        let (x, y) = (c.hashes[i], c.hashes[j]);
        apart.contains(&(x.min(y), x.max(y)))
    };
    let mut kept: HashMap<Hash, Option<Vec<u8>>> = HashMap::new();
    let mut failed: Option<anyhow::Error> = None;
    let mut check = |i: usize, j: usize| -> bool {
        if failed.is_some() || apart_pair(i, j) {
            return false;
        }
        let (x, y) = (c.hashes[i], c.hashes[j]);
        if kept.len() + 2 > SIGNATURES_KEPT {
            kept.clear();
        }
        let missing: Vec<Hash> = [x, y]
            .into_iter()
            .filter(|h| !kept.contains_key(h))
            .collect();
        if !missing.is_empty() {
            match pixels.signatures.read(&missing) {
                Ok(mut read) => {
                    for h in missing {
                        kept.insert(h, read.remove(&h));
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            }
        }
        let likeness = match (&kept[&x], &kept[&y]) {
            (Some(a), Some(b)) => signature::compare(a, b),
            _ => None,
        };
        matches!(likeness, Some(l) if l.agrees() && fine_check(i, j, l) == Some(true))
    };
    let same_groups = cliques(c, &confirmed, &mut check);
    if let Some(e) = failed {
        return Err(e);
    }
    let tier_of = |rows: &[usize]| {
        if rows.iter().all(|&r| c.hashes[r] == c.hashes[rows[0]]) {
            Tier::Exact
        } else if same_groups.iter().any(|g| g == rows) {
            Tier::SamePicture
        } else {
            Tier::Similar
        }
    };
    let all = join(c.len(), confirmed.into_iter().chain(similar).collect());
    let mut groups: Vec<TieredGroup> = if include_similar {
        all.into_iter()
            .map(|rows| TieredGroup {
                tier: tier_of(&rows),
                rows,
            })
            .collect()
    } else {
        let listed = same_groups.iter().map(|rows| TieredGroup {
            tier: tier_of(rows),
            rows: rows.clone(),
        });
        let alike = all.into_iter().filter_map(|rows| {
            (tier_of(&rows) == Tier::Similar).then_some(TieredGroup {
                tier: Tier::Similar,
                rows,
            })
        });
        listed.chain(alike).collect()
    };
    groups.sort_by(|a, b| {
        (a.tier == Tier::Similar)
            .cmp(&(b.tier == Tier::Similar))
            .then(b.rows.len().cmp(&a.rows.len()))
            .then(a.rows[0].cmp(&b.rows[0]))
    });
    Ok(Tiered {
        groups,
        unconfirmed,
    })
}

/// The pairs `(i, j)`, `i < j`, where `j` is one of the [`LOOSE_NEIGHBOURS`] nearest of `i` or
/// `i` of `j`, at cosine ≥ [`LOOSE_SIMILARITY`] and under `threshold`: exact kNN below
/// [`FILTER_FROM`] images, from there candidates in a PCA projection re-ranked exactly
/// ([`super::umap::knn`]).
fn loose_pairs(c: &Collection, threshold: f32) -> Vec<(usize, usize)> {
    if threshold <= LOOSE_SIMILARITY || c.len() < 2 {
        return Vec::new();
    }
    loose_of(&neighbour_graph(c), threshold)
}

/// The pairs of `knn` at cosine ≥ [`LOOSE_SIMILARITY`] and under `threshold` (none when the
/// threshold is not above it).
fn loose_of(knn: &[Vec<super::neighbours::Neighbour>], threshold: f32) -> Vec<(usize, usize)> {
    if threshold <= LOOSE_SIMILARITY {
        return Vec::new();
    }
    let below = f32::from_bits(threshold.to_bits() - 1);
    graph_pairs(knn, LOOSE_SIMILARITY..=below)
}

/// Every pair `(i, j)`, `i < j`, at least `threshold` similar, by comparing all full vectors.
pub(crate) fn all_pairs(c: &Collection, threshold: f32) -> Vec<(usize, usize)> {
    for_each_block(c, |first, sims| {
        let mut pairs = Vec::new();
        for (k, row) in sims.chunks(c.len()).enumerate() {
            let i = first + k;
            for (j, &s) in row.iter().enumerate().skip(i + 1) {
                if s >= threshold {
                    pairs.push((i, j));
                }
            }
        }
        pairs
    })
    .into_iter()
    .flatten()
    .collect()
}

/// The same pairs as [`all_pairs`], screened in a PCA projection. For unit vectors,
/// cos ≥ t ⇔ ‖a − b‖² ≤ 2(1 − t). Rows are sorted by their first coordinate, so each block
/// of rows only meets the contiguous run of later rows within reach on that axis.
pub(crate) fn screened_pairs(c: &Collection, threshold: f32) -> Vec<(usize, usize)> {
    let n = c.len();
    let pca = Pca::fit(&c.vectors, SCREEN_DIMS, 0);
    let y = pca.project(&c.vectors);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| y.get(a, 0).total_cmp(&y.get(b, 0)));
    let y = y.select(&order);
    let first_axis: Vec<f32> = (0..n).map(|i| y.get(i, 0)).collect();
    let squares: Vec<f32> = (0..n)
        .map(|i| y.row(i).iter().map(|v| v * v).sum())
        .collect();
    // A little slack for rounding in the projection (axes orthonormal to about 1e-6).
    let reach2 = 2.0 * (1.0 - threshold) * 1.01 + 1e-4;
    let reach = reach2.sqrt();
    const BLOCK: usize = 256;
    (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let first = b * BLOCK;
            let rows = BLOCK.min(n - first);
            let end = first_axis.partition_point(|&v| v <= first_axis[first + rows - 1] + reach);
            let cols = end - first;
            let mut dots = vec![0f32; rows * cols];
            let d = y.cols;
            gemm(
                rows,
                d,
                cols,
                &y.data[first * d..],
                (d, 1),
                &y.data[first * d..],
                (1, d),
                &mut dots,
            );
            let mut pairs = Vec::new();
            for k in 0..rows {
                let i = first + k;
                for (jj, &dot) in dots[k * cols..(k + 1) * cols].iter().enumerate() {
                    let j = first + jj;
                    if j > i && squares[i] + squares[j] - 2.0 * dot <= reach2 {
                        let (a, b) = (order[i], order[j]);
                        if c.vectors.dot_rows(a, b) >= threshold {
                            pairs.push((a.min(b), a.max(b)));
                        }
                    }
                }
            }
            pairs
        })
        .flatten()
        .collect()
}

/// Groups of rows in which every two are the same picture, from the pairs confirmed so:
/// rows of one content (hash) are one vertex, and each confirmed pair of two contents an
/// edge. In each connected component the vertex with the most edges starts a group; the
/// others join it, most edges first (then lowest row), when each is the same picture as
/// every member: confirmed already, or by `check` (rows i, j) for a pair the candidates
/// missed; what is left of the component is grouped the same way. This greedy clique cover
/// keeps a group to pictures that are each alike, where union-find chains them. Groups of one
/// vertex are kept only when it holds several rows (exact copies). Largest group first, each
/// sorted by row.
fn cliques(
    c: &Collection,
    confirmed: &[(usize, usize)],
    check: &mut dyn FnMut(usize, usize) -> bool,
) -> Vec<Vec<usize>> {
    let mut vertex_of: HashMap<Hash, usize> = HashMap::new();
    let mut rows_of: Vec<Vec<usize>> = Vec::new();
    let vertex: Vec<usize> = c
        .hashes
        .iter()
        .enumerate()
        .map(|(row, h)| {
            let v = *vertex_of.entry(*h).or_insert_with(|| {
                rows_of.push(Vec::new());
                rows_of.len() - 1
            });
            rows_of[v].push(row);
            v
        })
        .collect();
    let mut edges: Vec<(usize, usize)> = confirmed
        .iter()
        .map(|&(i, j)| (vertex[i].min(vertex[j]), vertex[i].max(vertex[j])))
        .filter(|(a, b)| a != b)
        .collect();
    edges.sort_unstable();
    edges.dedup();
    let mut adjacent = vec![Vec::new(); rows_of.len()];
    for &(a, b) in &edges {
        adjacent[a].push(b);
        adjacent[b].push(a);
    }
    let mut checked: HashMap<(usize, usize), bool> = HashMap::new();
    let mut linked = |a: usize, b: usize| {
        let key = (a.min(b), a.max(b));
        edges.binary_search(&key).is_ok()
            || *checked
                .entry(key)
                .or_insert_with(|| check(rows_of[a][0], rows_of[b][0]))
    };
    let mut groups = Vec::new();
    let mut left = vec![false; rows_of.len()];
    for component in join(rows_of.len(), edges.clone()) {
        for &v in &component {
            left[v] = true;
        }
        let mut remaining = component;
        while !remaining.is_empty() {
            let degree = |v: usize| adjacent[v].iter().filter(|&&u| left[u]).count();
            let start = *remaining
                .iter()
                .max_by_key(|&&v| (degree(v), std::cmp::Reverse(v)))
                .expect("not empty");
            let mut joining: Vec<usize> = adjacent[start]
                .iter()
                .copied()
                .filter(|&u| left[u])
                .collect();
            joining.sort_by_key(|&u| (std::cmp::Reverse(degree(u)), u));
            let mut clique = vec![start];
            for u in joining {
                if clique.iter().all(|&w| linked(u, w)) {
                    clique.push(u);
                }
            }
            for &v in &clique {
                left[v] = false;
            }
            remaining.retain(|&v| left[v]);
            groups.push(clique);
        }
    }
    // Vertices with no edge, kept when they hold exact copies.
    let grouped: HashSet<usize> = groups.iter().flatten().copied().collect();
    groups.extend(
        (0..rows_of.len())
            .filter(|v| !grouped.contains(v))
            .map(|v| vec![v]),
    );
    let mut out: Vec<Vec<usize>> = groups
        .into_iter()
        .map(|clique| {
            let mut rows: Vec<usize> = clique.iter().flat_map(|&v| rows_of[v].clone()).collect();
            rows.sort_unstable();
            rows
        })
        .filter(|rows| rows.len() > 1)
        .collect();
    out.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    out
}

/// Connected components of the pairs with more than one member.
fn join(n: usize, pairs: Vec<(usize, usize)>) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, j) in pairs {
        let (a, b) = (root(&mut parent, i), root(&mut parent, j));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut by_root: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..n {
        let r = root(&mut parent, i);
        by_root.entry(r).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = by_root.into_values().filter(|g| g.len() > 1).collect();
    groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::rng::Lcg;

    /// 80 families of 8 images in 96 dimensions, each member its family's centre plus noise of
    /// a different size, so similarities spread across the threshold.
    fn families() -> Collection {
        let (dim, mut rng) = (96, Lcg::new(7));
        let mut c = Collection::default();
        for family in 0..80 {
            let centre: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
            for m in 0..8 {
                let noise = 0.05 * m as f32;
                let mut v: Vec<f32> = centre.iter().map(|c| c + noise * rng.normal()).collect();
                crate::features::l2_normalize(&mut v);
                c.push(format!("{family}-{m}.png").into(), [0; 32], &v, 1.0);
            }
        }
        c
    }

    #[test]
    fn pairs_set_apart_are_not_joined_unless_a_third_image_links_them() {
        let mut c = families();
        // `families` gives every row one hash: give each its own.
        for (i, h) in c.hashes.iter_mut().enumerate() {
            h[..8].copy_from_slice(&(i as u64).to_le_bytes());
        }
        let whole = groups(&c, 0.9);
        let group = whole
            .iter()
            .find(|g| g.len() >= 3)
            .expect("a group of three");
        let (a, b) = (group[0], group[1]);
        let key = |i: usize, j: usize| {
            let (x, y) = (c.hashes[i], c.hashes[j]);
            (x.min(y), x.max(y))
        };
        // One pair marked: the group stays whole through its other members.
        let one = groups_apart(&c, 0.9, &HashSet::from([key(a, b)]));
        assert!(one.iter().any(|g| g.contains(&a) && g.contains(&b)));
        // Every pair of `a` with the group marked: `a` leaves it, the rest stay together.
        let all: HashSet<_> = group
            .iter()
            .filter(|&&j| j != a)
            .map(|&j| key(a, j))
            .collect();
        let parted = groups_apart(&c, 0.9, &all);
        assert!(parted.iter().all(|g| !g.contains(&a)), "{parted:?}");
        // Other groups are untouched.
        for g in whole.iter().filter(|g| !g.contains(&a)) {
            assert!(parted.contains(g));
        }
        // Nothing marked: the same groups as before.
        assert_eq!(groups_apart(&c, 0.9, &HashSet::new()), whole);
    }

    #[test]
    fn a_chain_of_confirmed_pairs_is_not_one_group_but_a_clique_is() {
        let mut c = Collection::default();
        for i in 0..12u8 {
            // Rows 10 and 11 are exact copies of row 9.
            let mut hash = [0; 32];
            hash[0] = i.min(9);
            c.push(format!("{i}.png").into(), hash, &[1.0, 0.0], 1.0);
        }
        // A chain 0–1–2–3–4, each a shade from the next; 5, 6, 7, 8 each confirmed with the
        // others; 9 with its copies 10, 11 and nothing else.
        let mut confirmed = vec![(0, 1), (1, 2), (2, 3), (3, 4)];
        for i in 5..9 {
            for j in i + 1..9 {
                confirmed.push((i, j));
            }
        }
        confirmed.extend([(9, 10), (10, 11), (9, 11)]);
        let groups = cliques(&c, &confirmed, &mut |_, _| false);
        assert_eq!(groups[0], vec![5, 6, 7, 8]);
        assert!(groups.contains(&vec![9, 10, 11]), "{groups:?}");
        for g in &groups {
            for (k, &i) in g.iter().enumerate() {
                for &j in &g[k + 1..] {
                    let confirmed_pair = confirmed.contains(&(i, j)) || c.hashes[i] == c.hashes[j];
                    assert!(confirmed_pair, "{i} and {j} in {g:?} were never confirmed");
                }
            }
        }
        let chained: Vec<&Vec<usize>> = groups.iter().filter(|g| g[0] < 5).collect();
        assert!(chained.iter().all(|g| g.len() == 2), "{chained:?}");
        assert_eq!(chained.len(), 2, "{chained:?}");
        // With every pair of the chain confirmed, it is one group.
        let mut all = confirmed.clone();
        for i in 0..5 {
            for j in i + 1..5 {
                all.push((i, j));
            }
        }
        assert!(cliques(&c, &all, &mut |_, _| false).contains(&vec![0, 1, 2, 3, 4]));
        // A pair the candidates missed, checked when a group needs it: 0–2 is the same
        // picture, so 0 joins 1 and 2.
        let mut asked = Vec::new();
        let groups = cliques(&c, &confirmed, &mut |i, j| {
            asked.push((i.min(j), i.max(j)));
            (i.min(j), i.max(j)) == (0, 2)
        });
        assert!(groups.contains(&vec![0, 1, 2]), "{groups:?}");
        assert!(asked.contains(&(0, 2)), "{asked:?}");
    }

    #[test]
    fn the_screen_finds_exactly_the_pairs_of_the_full_comparison() {
        let c = families();
        for threshold in [0.8, 0.9, 0.95, 0.99] {
            let mut exact = all_pairs(&c, threshold);
            let mut screened = screened_pairs(&c, threshold);
            exact.sort();
            screened.sort();
            assert!(!exact.is_empty(), "threshold {threshold} has pairs");
            assert_eq!(screened, exact, "threshold {threshold}");
        }
    }

    #[test]
    fn pairs_from_the_knn_graph_make_the_groups_of_the_full_comparison() {
        // Families of 8: every image's 7 alike are among its 16 nearest, so the graph's pairs
        // at the threshold join the same groups as all pairs do, with NN-descent candidates.
        let c = families();
        let x = Pca::fit(&c.vectors, SCREEN_DIMS, 0).project(&c.vectors);
        let descent = super::super::umap::Candidates::Descent { seed: 0 };
        let knn = super::super::umap::knn_by(&c, &x, LOOSE_NEIGHBOURS, descent);
        for threshold in [0.8, 0.9, 0.95] {
            let from_graph = graph_pairs(&knn, threshold..=1.0);
            assert!(from_graph.windows(2).all(|w| w[0] < w[1]), "sorted, once");
            let all = all_pairs(&c, threshold);
            assert!(from_graph.iter().all(|p| all.contains(p)));
            assert_eq!(join(c.len(), from_graph), join(c.len(), all), "{threshold}");
        }
    }

    /// Letting the vectors go during the graph's search and reading them again gives the
    /// pairs the graph gives with the vectors held; a reader that gives back fewer images
    /// fails it.
    #[test]
    fn candidates_found_with_the_vectors_read_again_are_those_found_with_them_held() {
        let c = families();
        let x = Pca::fit(&c.vectors, SCREEN_DIMS, 0).project(&c.vectors);
        let knn = super::super::umap::knn(&c, &x, LOOSE_NEIGHBOURS, 0);
        let mut held = c.clone();
        let mut handed = 0;
        let found = rereading(&mut held, 0.95, |files| {
            assert!(files.vectors.rows() == 0 && files.paths == c.paths);
            handed = files.len();
            Ok(c.clone())
        })
        .unwrap();
        assert_eq!(handed, c.len());
        assert_eq!(found.strong, graph_pairs(&knn, 0.95..=1.0));
        assert_eq!(found.loose, loose_of(&knn, 0.95));
        assert!(!found.strong.is_empty());
        assert_eq!(held.vectors, c.vectors);

        let mut short = c.clone();
        let fewer = rereading(&mut short, 0.95, |mut files| {
            files.paths.pop();
            files.hashes.pop();
            Ok(files)
        });
        assert!(fewer.unwrap_err().to_string().contains("the store changed"));
    }

    /// The candidates are found on the vectors alone, and name the contents whose signatures
    /// the pixel check needs: each content of a pair, once, and no other.
    #[test]
    fn candidates_name_each_paired_content_once() {
        let mut c = families();
        for (i, h) in c.hashes.iter_mut().enumerate() {
            h[..8].copy_from_slice(&((i / 2) as u64).to_be_bytes());
        }
        let found = candidates(&c, 0.95);
        assert!(!found.strong.is_empty() && !found.loose.is_empty());
        assert!(found.strong.iter().all(|p| !found.loose.contains(p)));
        let mut paired: Vec<Hash> = found
            .strong
            .iter()
            .chain(&found.loose)
            .flat_map(|&(i, j)| [c.hashes[i], c.hashes[j]])
            .collect();
        paired.sort();
        paired.dedup();
        assert_eq!(contents_of(&c, &found.strong, &found.loose), paired);
        assert!(paired.len() < c.len(), "rows of one hash share it");
    }

    /// Rings for member `m` of family `family`: members 0 to 3 are one picture, each a shade
    /// brighter than the one before; the others are each another picture in the same colours.
    fn drawn(family: usize, m: usize) -> image::RgbImage {
        let (cx, cy) = (
            0.3 + 0.4 * (family % 7) as f32 / 7.0,
            0.3 + 0.4 * (family % 5) as f32 / 5.0,
        );
        let freq = 4.0 + (family % 9) as f32 + 3.0 * m.saturating_sub(3) as f32;
        let gain = 1.0 + 0.02 * m.min(3) as f32;
        let (a, b) = ([20.0, 40.0 + family as f32, 90.0], [230.0, 200.0, 60.0]);
        image::RgbImage::from_fn(128, 128, |x, y| {
            let (u, v) = (x as f32 / 128.0 - cx, y as f32 / 128.0 - cy);
            let t = 0.5 + 0.5 * ((u * u + v * v).sqrt() * freq * std::f32::consts::TAU).sin();
            image::Rgb(std::array::from_fn(|k| {
                ((a[k] + (b[k] - a[k]) * t) * gain).min(255.0) as u8
            }))
        })
    }

    struct Drawn(HashMap<Hash, image::RgbImage>);

    impl Pictures for Drawn {
        fn picture(&self, hash: &[u8; 32]) -> Option<image::RgbImage> {
            self.0.get(hash).cloned()
        }
    }

    /// Reading the signatures a few contents at a time, a pair of blocks held at once, gives
    /// the groups that reading them all at once gives: exact, same-picture and similar ones,
    /// and the pairs that could not be confirmed.
    #[test]
    fn signatures_read_in_blocks_give_the_groups_read_all_at_once() {
        let mut c = families();
        let (mut pictures, mut signatures) = (HashMap::new(), HashMap::new());
        for row in 0..c.len() {
            let (family, m) = (row / 8, row % 8);
            // Members 4 and 5 of every tenth family are the same bytes.
            let (id, m) = if family % 10 == 0 && m == 5 {
                (row - 1, 4)
            } else {
                (row, m)
            };
            c.hashes[row][..8].copy_from_slice(&(id as u64).to_be_bytes());
            let picture = drawn(family, m);
            // One content has no signature: its pairs cannot be confirmed.
            if row != 8 * 3 + 2 {
                let sig = signature::signature(&image::DynamicImage::from(picture.clone()), [0; 3]);
                signatures.insert(c.hashes[row], sig);
            }
            pictures.insert(c.hashes[row], picture);
        }
        let pictures = Drawn(pictures);
        let largest = std::cell::Cell::new(0);
        let read = |hashes: &[Hash]| -> anyhow::Result<HashMap<Hash, Vec<u8>>> {
            largest.set(largest.get().max(hashes.len()));
            Ok(hashes
                .iter()
                .filter_map(|h| Some((*h, signatures.get(h)?.clone())))
                .collect())
        };
        let pixels = Pixels {
            signatures: &read,
            pictures: &pictures,
        };
        let apart = HashSet::new();
        let at_once = tiered(&c, candidates(&c, 0.95), &pixels, &apart, false).unwrap();
        let contents = {
            let found = candidates(&c, 0.95);
            contents_of(&c, &found.strong, &found.loose).len()
        };
        assert_eq!(largest.get(), contents, "one read of every paired content");
        for tier in [Tier::Exact, Tier::SamePicture, Tier::Similar] {
            assert!(at_once.groups.iter().any(|g| g.tier == tier), "{tier:?}");
        }
        assert!(at_once.unconfirmed > 0);
        for block in [1, 7, 100] {
            largest.set(0);
            let in_blocks =
                tiered_in_blocks(&c, candidates(&c, 0.95), &pixels, &apart, false, block).unwrap();
            assert!(
                largest.get() <= block.max(2),
                "{block}: read {}",
                largest.get()
            );
            assert_eq!(in_blocks.groups, at_once.groups, "{block}");
            assert_eq!(in_blocks.unconfirmed, at_once.unconfirmed, "{block}");
        }
    }

    /// A store that fails while the signatures are read fails the grouping: no group is
    /// given as if its pixels had been checked.
    #[test]
    fn signatures_that_cannot_be_read_fail_the_grouping() {
        let c = families();
        let fail = |_: &[Hash]| -> anyhow::Result<HashMap<Hash, Vec<u8>>> {
            anyhow::bail!("the store is damaged")
        };
        let pixels = Pixels {
            signatures: &fail,
            pictures: &Drawn(HashMap::new()),
        };
        let e = tiered(&c, candidates(&c, 0.95), &pixels, &HashSet::new(), false).unwrap_err();
        assert_eq!(e.to_string(), "the store is damaged");
    }
}
