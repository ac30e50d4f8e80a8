//! Answers from stored vectors: neighbours, near-duplicates (clusters and the map come next).

pub mod duplicates;
pub mod neighbours;
