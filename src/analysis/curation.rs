//! Curation: the user's edits to a saved clustering — names, merges, splits, moves — kept as
//! a log and replayed, in order, on the fitted clustering.
//!
//! Edits refer to clusters by a stable id ([`Cluster::id`]): a fitted cluster's index in the
//! fitted clustering, and fresh ids from there up for the clusters edits make (split parts,
//! new clusters). A logged edit records what it found when it was made (a split's parts and
//! their members, a new cluster's centroid and name), so replaying it gives the same result
//! every time, and needs no model and, for images it knows, no vectors.
//!
//! When the clustering is fitted again (another k, `--recluster`), [`carry_over`] matches the
//! old fitted clusters to the new ones by their shared members (Hungarian assignment) and
//! rewrites the log onto the new ids; what cannot be carried over is said in notes.

use std::collections::{HashMap, HashSet};

use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix as Weights;
use serde::{Deserialize, Serialize};

use super::clustering::{
    Cluster, Clustering, KChoice, MapMethod, Method, Naming, Request, cluster, distance_to,
    mean_direction, name_groups, tell_apart,
};
use crate::collection::{Collection, hex};
use crate::error::ensure_request;

/// An edit as a client asks for it. Clusters are indexes into [`Clustering::clusters`] of
/// the clustering shown (not display numbers); images are content hashes.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Show `name` instead of the cluster's generated name.
    Name {
        /// The cluster (index into `clusters`).
        cluster: usize,
        /// The new name; surrounding white space is trimmed, and it may not be empty.
        name: String,
    },
    /// Put every image of `from` into `into`; `from` is gone afterwards.
    Merge {
        /// The cluster that disappears (index into `clusters`).
        from: usize,
        /// The cluster that takes its images (index into `clusters`).
        into: usize,
    },
    /// Split a cluster into `k` parts by KMeans on its members (seeded by the clustering's
    /// seed); `None` chooses k by the same sweep as `--k auto`, inside the cluster.
    Split {
        /// The cluster (index into `clusters`).
        cluster: usize,
        /// Parts wanted, 2 ..= the cluster's size; `None`: chosen by the sweep.
        k: Option<usize>,
    },
    /// Put images (by content hash, as in [`Collection::hashes`]) into another cluster.
    Move {
        /// The images; every copy of a content moves with it.
        images: Vec<[u8; 32]>,
        /// The cluster (index into `clusters`); `None`: a new cluster of these images.
        to: Option<usize>,
    },
}

/// A cluster an edit made, as it was when the edit was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCluster {
    /// Its stable id.
    pub id: usize,
    /// Its generated name (contrasted with the whole collection).
    pub name: String,
    /// The classes behind the name, with their probability.
    pub classes: Vec<(String, f32)>,
    /// The mean of its members' unit vectors, scaled to unit length: images of the split
    /// cluster that the edit did not see join the part with the nearest centroid.
    pub centroid: Vec<f32>,
    /// Its members' content hashes (hex); empty for a move's new cluster, whose members are
    /// the moved images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// An edit as the log keeps it: by stable cluster id, with what it found when it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "lowercase")]
pub enum Logged {
    /// The user's name for cluster `cluster`.
    Name {
        /// Stable id.
        cluster: usize,
        /// The name.
        name: String,
    },
    /// Cluster `from` merged into `into`.
    Merge {
        /// Stable id of the cluster that disappears.
        from: usize,
        /// Stable id of the cluster that takes its images.
        into: usize,
    },
    /// Cluster `cluster` split into `parts`, largest first.
    Split {
        /// Stable id of the cluster split.
        cluster: usize,
        /// The parts.
        parts: Vec<NewCluster>,
    },
    /// Images moved into cluster `to`, which `new` describes when the move made it.
    Move {
        /// Content hashes (hex).
        images: Vec<String>,
        /// Stable id of the cluster they join.
        to: usize,
        /// The new cluster, when the move made one (its id is `to`).
        new: Option<NewCluster>,
    },
}

impl Logged {
    /// The ids of the clusters this edit makes.
    fn made(&self) -> Vec<usize> {
        match self {
            Logged::Split { parts, .. } => parts.iter().map(|p| p.id).collect(),
            Logged::Move { new: Some(n), .. } => vec![n.id],
            _ => Vec::new(),
        }
    }
}

/// The first id free for a cluster an edit makes, after a fitted clustering of `fitted`
/// clusters and the edits `log`.
pub fn next_id(fitted: usize, log: &[Logged]) -> usize {
    log.iter()
        .flat_map(Logged::made)
        .map(|id| id + 1)
        .fold(fitted, usize::max)
}

/// A cluster during replay.
struct Info {
    generated: String,
    user: Option<String>,
    classes: Vec<(String, f32)>,
    centroid: Vec<f32>,
    noise: bool,
}

impl Info {
    fn made(n: &NewCluster) -> Info {
        Info {
            generated: n.name.clone(),
            user: None,
            classes: n.classes.clone(),
            centroid: n.centroid.clone(),
            noise: false,
        }
    }
}

/// The clustering `fitted` (row-aligned with `c`, its clusters' ids their indexes) with
/// `log` replayed in order, and a note for each edit that could not be applied (its cluster
/// is gone). Clusters are numbered 1, 2, … by size again when there are edits; empty
/// clusters are left out. Centroids and distances of the clusters edits changed are
/// recomputed when `c` has its vectors; without them (paths and hashes only) the fitted
/// ones stay.
pub fn replay(fitted: Clustering, c: &Collection, log: &[Logged]) -> (Clustering, Vec<String>) {
    if log.is_empty() {
        return (fitted, Vec::new());
    }
    let vectors = c.dim() > 0 && c.vectors.rows() == c.len();
    let mut rows_of: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, h) in c.hashes.iter().enumerate() {
        rows_of.entry(hex(h)).or_default().push(i);
    }
    let mut labels: Vec<usize> = fitted
        .labels
        .iter()
        .map(|&l| fitted.clusters[l].id)
        .collect();
    let mut info: HashMap<usize, Info> = fitted
        .clusters
        .iter()
        .map(|cl| {
            let i = Info {
                generated: cl.generated_name.clone(),
                user: None,
                classes: cl.classes.clone(),
                centroid: cl.centroid.clone(),
                noise: cl.is_noise(),
            };
            (cl.id, i)
        })
        .collect();
    let mut changed = HashSet::new();
    let mut notes = Vec::new();
    for edit in log {
        match edit {
            Logged::Name { cluster, name } => match info.get_mut(cluster) {
                Some(i) => i.user = Some(name.clone()),
                None => notes.push(format!(
                    "the name “{name}” was not given: its cluster is gone"
                )),
            },
            Logged::Merge { from, into } => {
                if from == into || !info.contains_key(from) || !info.contains_key(into) {
                    notes.push("a merge was not made: one of its clusters is gone".to_owned());
                    continue;
                }
                labels
                    .iter_mut()
                    .filter(|l| **l == *from)
                    .for_each(|l| *l = *into);
                info.remove(from);
                changed.insert(*into);
            }
            Logged::Split { cluster, parts } => {
                if !info.contains_key(cluster) || parts.is_empty() {
                    notes.push("a split was not made: its cluster is gone".to_owned());
                    continue;
                }
                let part_of: HashMap<&str, usize> = parts
                    .iter()
                    .flat_map(|p| p.members.iter().map(move |h| (h.as_str(), p.id)))
                    .collect();
                for (i, l) in labels.iter_mut().enumerate() {
                    if *l != *cluster {
                        continue;
                    }
                    *l = match part_of.get(hex(&c.hashes[i]).as_str()) {
                        Some(&id) => id,
                        None if vectors => {
                            let nearest = parts.iter().min_by(|a, b| {
                                let da = c.vectors.dot(i, &a.centroid);
                                let db = c.vectors.dot(i, &b.centroid);
                                db.total_cmp(&da)
                            });
                            nearest.expect("parts is not empty").id
                        }
                        None => parts[0].id,
                    };
                }
                info.remove(cluster);
                for p in parts {
                    info.insert(p.id, Info::made(p));
                    changed.insert(p.id);
                }
            }
            Logged::Move { images, to, new } => {
                if let Some(n) = new {
                    info.insert(n.id, Info::made(n));
                }
                if !info.contains_key(to) {
                    let s = if images.len() == 1 { "" } else { "s" };
                    notes.push(format!(
                        "{} image{s} stayed where they were: the cluster they were moved to is gone",
                        images.len()
                    ));
                    continue;
                }
                for h in images {
                    for &i in rows_of.get(h).into_iter().flatten() {
                        changed.insert(labels[i]);
                        labels[i] = *to;
                    }
                }
                changed.insert(*to);
            }
        }
    }

    // Number by size, largest first (ties: the cluster whose first image comes first), the
    // unclustered group last.
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, &l) in labels.iter().enumerate() {
        members.entry(l).or_default().push(i);
    }
    let mut order: Vec<(usize, Vec<usize>)> = members.into_iter().collect();
    order.sort_by(|(a, ma), (b, mb)| {
        (info[a].noise, std::cmp::Reverse(ma.len()), ma[0]).cmp(&(
            info[b].noise,
            std::cmp::Reverse(mb.len()),
            mb[0],
        ))
    });
    let mut index_of = HashMap::new();
    let mut clusters = Vec::with_capacity(order.len());
    let mut user_named = Vec::with_capacity(order.len());
    let mut number = 0;
    for (index, (id, rows)) in order.iter().enumerate() {
        let i = info.remove(id).expect("every label has its cluster");
        index_of.insert(*id, index);
        let centroid = if vectors && changed.contains(id) {
            mean_direction(c, rows)
        } else {
            i.centroid
        };
        if !i.noise {
            number += 1;
        }
        user_named.push(i.user.is_some());
        clusters.push(Cluster {
            number: if i.noise { 0 } else { number },
            size: rows.len(),
            name: i.user.unwrap_or_else(|| i.generated.clone()),
            generated_name: i.generated,
            classes: i.classes,
            centroid,
            id: *id,
        });
    }
    // Parts of splits and new clusters are named apart from each other, not from the rest.
    tell_apart(&mut clusters, &user_named);
    let distances = (0..c.len())
        .map(|r| {
            if vectors && changed.contains(&labels[r]) {
                distance_to(&clusters[index_of[&labels[r]]], &c.row(r))
            } else {
                fitted.distances[r]
            }
        })
        .collect();
    let labels = labels.iter().map(|l| index_of[l]).collect();
    let k = clusters.iter().filter(|cl| !cl.is_noise()).count();
    let clustering = Clustering {
        k,
        clusters,
        labels,
        distances,
        edits: log.len(),
        ..fitted
    };
    (clustering, notes)
}

/// The logged form of `edit` on the clustering `shown` of `c` (row-aligned, with vectors):
/// indexes become stable ids, a split is computed (KMeans as `request` says, seeded by its
/// seed, k chosen by the sweep when not given), new clusters are named by `names` against
/// the whole collection. `next` is the first free id (see [`next_id`]).
///
/// Fails with [`crate::ErrorKind::BadRequest`] for a cluster index out of range, an edit of
/// DBSCAN's unclustered group (other than a name or moving images out of it), a merge of a
/// cluster into itself, an empty name, a split into fewer than 2 or more parts than images
/// (or of a cluster whose images are alike), and a move of no images or of an image not in
/// `c`; and as [`cluster`] does.
pub fn prepare(
    edit: Edit,
    shown: &Clustering,
    c: &Collection,
    request: &Request,
    names: &Naming,
    next: usize,
) -> anyhow::Result<Logged> {
    let count = shown.clusters.len();
    let check = |i: usize| -> anyhow::Result<&Cluster> {
        ensure_request!(
            i < count,
            "no cluster at index {i}: there are {count} clusters"
        );
        Ok(&shown.clusters[i])
    };
    let not_noise = |cl: &Cluster, what: &str| -> anyhow::Result<()> {
        ensure_request!(
            !cl.is_noise(),
            "the unclustered images (cluster 0) cannot be {what}"
        );
        Ok(())
    };
    Ok(match edit {
        Edit::Name { cluster, name } => {
            let cl = check(cluster)?;
            let name = name.trim();
            ensure_request!(!name.is_empty(), "a cluster's name cannot be empty");
            Logged::Name {
                cluster: cl.id,
                name: name.to_owned(),
            }
        }
        Edit::Merge { from, into } => {
            let (a, b) = (check(from)?, check(into)?);
            ensure_request!(
                from != into,
                "cluster {} cannot be merged into itself",
                a.number
            );
            not_noise(a, "merged")?;
            not_noise(b, "merged into")?;
            Logged::Merge {
                from: a.id,
                into: b.id,
            }
        }
        Edit::Split { cluster: index, k } => {
            let cl = check(index)?;
            not_noise(cl, "split")?;
            let rows: Vec<usize> = (0..c.len()).filter(|&i| shown.labels[i] == index).collect();
            let m = rows.len();
            ensure_request!(
                m >= 2,
                "cluster {} has {m} image: nothing to split",
                cl.number
            );
            if let Some(k) = k {
                ensure_request!(
                    (2..=m).contains(&k),
                    "cluster {} has {m} images: it splits into 2 to {m} parts, not {k}",
                    cl.number
                );
            }
            let mut sub = Collection::default();
            for &i in &rows {
                sub.push(c.paths[i].clone(), c.hashes[i], &c.row(i), c.norms[i]);
            }
            let k = match k {
                Some(k) => KChoice::Fixed(k),
                None if m < 3 => KChoice::Fixed(m),
                None => KChoice::Auto,
            };
            let req = Request {
                method: Method::Kmeans,
                k,
                // A split is into a few parts: on a small set the silhouette alone can favour
                // nearly one part per image (22 of 27 was seen), so k stays at or under m / 4.
                k_max: (m / 4).clamp(2, request.k_max.max(2)),
                eps: None,
                map: MapMethod::Pca,
                ..request.clone()
            };
            let fit = cluster(&sub, &req, &Naming::default())?;
            ensure_request!(
                fit.clusters.len() >= 2,
                "cluster {} cannot be split: its images are alike",
                cl.number
            );
            let groups: Vec<Vec<usize>> = super::clustering::members(&fit)
                .into_iter()
                .map(|m| m.into_iter().map(|r| rows[r]).collect())
                .collect();
            let named = name_groups(c, &groups, names);
            let parts = groups
                .iter()
                .zip(named)
                .enumerate()
                .map(|(j, (g, (name, classes)))| NewCluster {
                    id: next + j,
                    name,
                    classes,
                    centroid: mean_direction(c, g),
                    members: g.iter().map(|&i| hex(&c.hashes[i])).collect(),
                })
                .collect();
            Logged::Split {
                cluster: cl.id,
                parts,
            }
        }
        Edit::Move { images, to } => {
            ensure_request!(!images.is_empty(), "no images to move");
            let known: HashSet<&[u8; 32]> = c.hashes.iter().collect();
            for h in &images {
                ensure_request!(
                    known.contains(h),
                    "image {} is not in this clustering",
                    hex(h)
                );
            }
            let mut seen = HashSet::new();
            let images: Vec<[u8; 32]> = images.into_iter().filter(|h| seen.insert(*h)).collect();
            let hexes = images.iter().map(|h| hex(h)).collect();
            match to {
                Some(to) => {
                    let cl = check(to)?;
                    not_noise(cl, "moved into")?;
                    // Nothing would change: not an edit worth a place in the log.
                    let all_there = (0..c.len())
                        .filter(|&i| seen.contains(&c.hashes[i]))
                        .all(|i| shown.labels[i] == to);
                    ensure_request!(
                        !all_there,
                        "{} already in cluster {}",
                        if images.len() == 1 {
                            "the image is"
                        } else {
                            "the images are"
                        },
                        cl.number
                    );
                    Logged::Move {
                        images: hexes,
                        to: cl.id,
                        new: None,
                    }
                }
                None => {
                    let rows: Vec<usize> = (0..c.len())
                        .filter(|&i| seen.contains(&c.hashes[i]))
                        .collect();
                    let (name, classes) = name_groups(c, std::slice::from_ref(&rows), names)
                        .pop()
                        .expect("one group, one name");
                    Logged::Move {
                        images: hexes,
                        to: next,
                        new: Some(NewCluster {
                            id: next,
                            name,
                            classes,
                            centroid: mean_direction(c, &rows),
                            members: Vec::new(),
                        }),
                    }
                }
            }
        }
    })
}

/// What `edit` did, in words, for the clustering `before` it (e.g. "the merge of cluster 4
/// into cluster 1"): what undo and redo report.
pub fn describe(edit: &Logged, before: &Clustering) -> String {
    let cluster = |id: usize| match before.clusters.iter().find(|cl| cl.id == id) {
        Some(cl) => format!("cluster {} “{}”", cl.number, cl.name),
        None => "a cluster no longer shown".to_owned(),
    };
    match edit {
        Logged::Name { cluster: id, name } => format!("the name “{name}” of {}", cluster(*id)),
        Logged::Merge { from, into } => {
            format!("the merge of {} into {}", cluster(*from), cluster(*into))
        }
        Logged::Split { cluster: id, parts } => {
            format!("the split of {} into {}", cluster(*id), parts.len())
        }
        Logged::Move { images, to, new } => {
            let s = if images.len() == 1 { "" } else { "s" };
            let target = match new {
                Some(_) => "a new cluster".to_owned(),
                None => cluster(*to),
            };
            format!("the move of {} image{s} to {target}", images.len())
        }
    }
}

/// Matches the clusters of two clusterings of the same images by shared members: `overlap`
/// holds, for each old cluster (row) and new cluster (column), how many images they share.
/// Returns each old cluster's match, by Hungarian assignment (Kuhn–Munkres, O(n³)) maximising
/// the images shared; a cluster left without a partner, or paired with one it shares no
/// image with, has none.
pub fn match_clusters(overlap: &[Vec<i64>]) -> Vec<Option<usize>> {
    let rows = overlap.len();
    let cols = overlap.first().map_or(0, Vec::len);
    if rows == 0 || cols == 0 {
        return vec![None; rows];
    }
    // Kuhn–Munkres wants no more rows than columns: match the other way round if needed.
    let mut matched = vec![None; rows];
    if rows <= cols {
        let w = Weights::from_rows(overlap.iter().cloned()).expect("rows of equal length");
        let (_, assignment) = kuhn_munkres(&w);
        for (i, j) in assignment.into_iter().enumerate() {
            matched[i] = (overlap[i][j] > 0).then_some(j);
        }
    } else {
        let w =
            Weights::from_rows((0..cols).map(|j| overlap.iter().map(|r| r[j]).collect::<Vec<_>>()))
                .expect("rows of equal length");
        let (_, assignment) = kuhn_munkres(&w);
        for (j, i) in assignment.into_iter().enumerate() {
            if overlap[i][j] > 0 {
                matched[i] = Some(j);
            }
        }
    }
    matched
}

/// Rewrites the edit log `log` (each edit with whether it is undone, and what goes with it:
/// its author, passed through) of an old fitted
/// clustering onto a new one: `old` and `new` give each image's fitted cluster id (by hex
/// content hash; images in only one are not compared), `old_clusters` the old fitted
/// clusters (for their names in notes) and `new_count` how many clusters the new one has.
///
/// Fitted clusters are matched by [`match_clusters`]; clusters edits made keep their
/// members and get ids above the new fitted ones. A name, merge or split whose cluster has no
/// match is dropped, and so is a move into one (the images stay where the new clustering put
/// them); each such edit not undone gives a note. Returns the new log and the notes.
pub fn carry_over<A>(
    log: Vec<(Logged, bool, A)>,
    old: &HashMap<String, usize>,
    old_clusters: &[Cluster],
    new: &HashMap<String, usize>,
    new_count: usize,
) -> (Vec<(Logged, bool, A)>, Vec<String>) {
    let old_count = old_clusters.len();
    let mut overlap = vec![vec![0i64; new_count]; old_count];
    for (h, &o) in old {
        if let Some(&n) = new.get(h)
            && o < old_count
            && n < new_count
        {
            overlap[o][n] += 1;
        }
    }
    let mut map: HashMap<usize, usize> = match_clusters(&overlap)
        .into_iter()
        .enumerate()
        .filter_map(|(o, n)| n.map(|n| (o, n)))
        .collect();
    // The old clusters' names, for the notes: fitted ones, then those edits made.
    let mut called: HashMap<usize, String> = old_clusters
        .iter()
        .enumerate()
        .map(|(i, cl)| (i, cl.generated_name.clone()))
        .collect();
    let name = |called: &HashMap<usize, String>, id: usize| {
        called
            .get(&id)
            .map_or_else(|| "a cluster".to_owned(), |n| format!("the cluster “{n}”"))
    };
    let moved = |id: usize| id - old_count.min(id) + new_count;
    let mut kept = Vec::with_capacity(log.len());
    let mut notes = Vec::new();
    for (edit, undone, extra) in log {
        let mut note = |text: String| {
            if !undone {
                notes.push(text);
            }
        };
        match edit {
            Logged::Name {
                cluster,
                name: text,
            } => match map.get(&cluster) {
                Some(&to) => kept.push((
                    Logged::Name {
                        cluster: to,
                        name: text.clone(),
                    },
                    undone,
                    extra,
                )),
                None => note(format!(
                    "the name “{text}” was dropped: no cluster of the new clustering matches {}",
                    name(&called, cluster)
                )),
            },
            Logged::Merge { from, into } => match (map.get(&from), map.get(&into)) {
                (Some(&f), Some(&t)) => {
                    kept.push((Logged::Merge { from: f, into: t }, undone, extra))
                }
                _ => note(format!(
                    "the merge of {} into {} was not made again: one of them has no match in the new clustering",
                    name(&called, from),
                    name(&called, into)
                )),
            },
            Logged::Split { cluster, mut parts } => match map.get(&cluster) {
                Some(&to) => {
                    for p in &mut parts {
                        called.insert(p.id, p.name.clone());
                        map.insert(p.id, moved(p.id));
                        p.id = moved(p.id);
                    }
                    kept.push((Logged::Split { cluster: to, parts }, undone, extra));
                }
                None => note(format!(
                    "the split of {} was not made again: no cluster of the new clustering matches it",
                    name(&called, cluster)
                )),
            },
            Logged::Move {
                images,
                to: _,
                new: Some(mut n),
            } => {
                called.insert(n.id, n.name.clone());
                map.insert(n.id, moved(n.id));
                n.id = moved(n.id);
                kept.push((
                    Logged::Move {
                        images,
                        to: n.id,
                        new: Some(n),
                    },
                    undone,
                    extra,
                ));
            }
            Logged::Move {
                images,
                to,
                new: None,
            } => match map.get(&to) {
                Some(&t) => kept.push((
                    Logged::Move {
                        images,
                        to: t,
                        new: None,
                    },
                    undone,
                    extra,
                )),
                None => {
                    let s = if images.len() == 1 { "" } else { "s" };
                    note(format!(
                        "{} image{s} moved to {} stay where the new clustering put them: it has no match there",
                        images.len(),
                        name(&called, to)
                    ))
                }
            },
        }
    }
    (kept, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_are_matched_by_the_most_shared_members() {
        // Old 0 ≈ new 1, old 1 ≈ new 0; old 2 shares nothing with new 2.
        let overlap = vec![vec![1, 9, 0], vec![8, 2, 0], vec![0, 0, 0]];
        assert_eq!(match_clusters(&overlap), [Some(1), Some(0), None]);
        // Fewer new clusters than old: the weaker old one goes without.
        let overlap = vec![vec![5, 1], vec![4, 0], vec![0, 6]];
        assert_eq!(match_clusters(&overlap), [Some(0), None, Some(1)]);
        // A greedy choice (old 0 → new 0, 10) would leave old 1 with 1; the assignment
        // prefers 9 + 8.
        let overlap = vec![vec![10, 9], vec![8, 1]];
        assert_eq!(match_clusters(&overlap), [Some(1), Some(0)]);
    }

    fn fitted_cluster(name: &str) -> Cluster {
        Cluster {
            number: 1,
            size: 0,
            name: name.to_owned(),
            generated_name: name.to_owned(),
            classes: Vec::new(),
            centroid: Vec::new(),
            id: 0,
        }
    }

    #[test]
    fn a_refit_rewrites_the_log_onto_the_matching_clusters() {
        // Old: a = {h0, h1, h2}, b = {h3, h4}, c = {h5}. New: {h3, h4} first, then the rest.
        let old: HashMap<String, usize> = [0, 0, 0, 1, 1, 2]
            .into_iter()
            .enumerate()
            .map(|(i, l)| (format!("h{i}"), l))
            .collect();
        let new: HashMap<String, usize> = [1, 1, 1, 0, 0, 1]
            .into_iter()
            .enumerate()
            .map(|(i, l)| (format!("h{i}"), l))
            .collect();
        let clusters = ["a", "b", "c"].map(fitted_cluster);
        let made = NewCluster {
            id: 3,
            name: "made".into(),
            classes: Vec::new(),
            centroid: Vec::new(),
            members: Vec::new(),
        };
        let log = vec![
            (
                Logged::Name {
                    cluster: 1,
                    name: "bees".into(),
                },
                false,
                (),
            ),
            (
                Logged::Name {
                    cluster: 2,
                    name: "cats".into(),
                },
                false,
                (),
            ),
            (
                Logged::Move {
                    images: vec!["h5".into()],
                    to: 3,
                    new: Some(made),
                },
                false,
                (),
            ),
            (Logged::Merge { from: 3, into: 0 }, false, ()),
            (
                Logged::Name {
                    cluster: 2,
                    name: "undone".into(),
                },
                true,
                (),
            ),
        ];
        let (kept, notes) = carry_over(log, &old, &clusters, &new, 2);
        let edits: Vec<&Logged> = kept.iter().map(|(e, _, _)| e).collect();
        assert!(matches!(edits[0], Logged::Name { cluster: 0, name } if name == "bees"));
        // The cluster made by the move gets an id above the new fitted ones.
        assert!(matches!(edits[1], Logged::Move { to: 2, new: Some(n), .. } if n.id == 2));
        assert!(matches!(edits[2], Logged::Merge { from: 2, into: 1 }));
        assert_eq!(kept.len(), 3, "{kept:?}");
        // Only the name in effect is noted, not the undone one.
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("“cats” was dropped") && notes[0].contains("“c”"));
    }

    #[test]
    fn next_ids_follow_the_clusters_edits_made() {
        let part = |id| NewCluster {
            id,
            name: String::new(),
            classes: Vec::new(),
            centroid: Vec::new(),
            members: Vec::new(),
        };
        assert_eq!(next_id(4, &[]), 4);
        let log = [
            Logged::Split {
                cluster: 1,
                parts: vec![part(4), part(5)],
            },
            Logged::Name {
                cluster: 9,
                name: "x".into(),
            },
        ];
        assert_eq!(next_id(4, &log), 6);
    }
}
