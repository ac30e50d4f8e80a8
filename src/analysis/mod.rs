//! Answers from stored vectors: clusters and the choice of k, the 2-D map, neighbours and
//! near-duplicates.

pub mod agglomerative;
pub mod clustering;
pub mod curation;
pub mod dbscan;
pub mod duplicates;
pub mod gmm;
pub mod kmeans;
pub mod knee;
pub mod lattice;
pub mod looks;
pub mod neighbours;
pub mod nn_descent;
pub mod outliers;
pub mod pca;
pub mod rng;
pub mod saved;
pub mod sweep;
pub mod tsne;
pub mod umap;
