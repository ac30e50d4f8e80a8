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

/// Hands the heap's free pages back to the system (glibc's `malloc_trim`; elsewhere nothing).
///
/// A step that builds and drops large structures on rayon's threads leaves their pages in
/// those threads' arenas, where the next large allocation on another thread cannot reuse
/// them: at a million images that is hundreds of MB of resident memory held for nothing.
/// Called between such steps.
pub fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it takes no pointer.
    unsafe {
        libc::malloc_trim(0);
    }
}
