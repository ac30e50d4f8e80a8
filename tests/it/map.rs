//! The 2-D map through the clustering: UMAP by default, seeded, keeping families apart, and
//! images added later placed among their nearest mapped neighbours without refitting.

use imgtui::Collection;
use imgtui::analysis::clustering::{Clustering, KChoice, MapMethod, Naming, Request, cluster};
use imgtui::analysis::rng::Lcg;
use imgtui::analysis::saved::SavedClustering;

/// Three families of 80 unit vectors in 64 dimensions, rows interleaved (row i is of family
/// i % 3), as an embedding of three kinds of picture would be.
fn three_families() -> Collection {
    let (dim, mut rng) = (64, Lcg::new(21));
    let centres: Vec<Vec<f32>> = (0..3)
        .map(|_| (0..dim).map(|_| rng.normal()).collect())
        .collect();
    let mut c = Collection::default();
    for i in 0..240 {
        push_near(&mut c, &centres[i % 3], &mut rng, &format!("{i}.png"));
    }
    c
}

fn push_near(c: &mut Collection, centre: &[f32], rng: &mut Lcg, name: &str) {
    let mut v: Vec<f32> = centre.iter().map(|x| x + 0.7 * rng.normal()).collect();
    imgtui::features::l2_normalize(&mut v);
    let hash: [u8; 32] = std::array::from_fn(|k| (c.len() >> (8 * (k % 8))) as u8);
    c.push(name.into(), hash, &v, 1.0);
}

/// The rows of the `k` nearest other images on the map.
fn map_neighbours(map: &[[f32; 2]], i: usize, k: usize) -> Vec<usize> {
    let mut near: Vec<(f32, usize)> = (0..map.len())
        .filter(|&j| j != i)
        .map(|j| {
            let d = (map[i][0] - map[j][0]).powi(2) + (map[i][1] - map[j][1]).powi(2);
            (d, j)
        })
        .collect();
    near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    near.into_iter().take(k).map(|(_, j)| j).collect()
}

fn fit(c: &Collection) -> Clustering {
    let req = Request {
        k: KChoice::Fixed(3),
        ..Request::default()
    };
    cluster(c, &req, &Naming::default()).unwrap()
}

#[test]
fn the_default_map_is_umap_seeded_and_keeps_families_apart() {
    let c = three_families();
    let first = fit(&c);
    assert_eq!(first.request.map, MapMethod::Umap);
    assert_eq!(first.request.map.name(), "UMAP");
    // Same images and seed: the same map, bit for bit.
    let again = fit(&c);
    let bits =
        |m: &Clustering| -> Vec<[u32; 2]> { m.map.iter().map(|p| p.map(f32::to_bits)).collect() };
    assert_eq!(bits(&first), bits(&again));
    // Each image's 10 nearest on the map are (nearly all) of its family.
    let same: usize = (0..c.len())
        .map(|i| {
            map_neighbours(&first.map, i, 10)
                .into_iter()
                .filter(|j| j % 3 == i % 3)
                .count()
        })
        .sum();
    assert!(same as f64 / (10 * c.len()) as f64 >= 0.95, "{same}");
    // PCA and t-SNE are still there, and name themselves.
    let pca = cluster(
        &c,
        &Request {
            map: MapMethod::Pca,
            k: KChoice::Fixed(3),
            ..Request::default()
        },
        &Naming::default(),
    )
    .unwrap();
    assert_ne!(bits(&pca), bits(&first));
    assert_eq!("tsne".parse::<MapMethod>(), Ok(MapMethod::Tsne));
    assert_eq!("umap".parse::<MapMethod>(), Ok(MapMethod::Umap));
}

#[test]
fn a_new_image_lands_beside_its_nearest_mapped_neighbours() {
    let mut c = three_families();
    let fitted = fit(&c);
    let saved = SavedClustering::new(&fitted, &c);
    // A clustering saved before UMAP (its request has no map) reads as a PCA map.
    let mut old = serde_json::to_value(&saved).unwrap();
    old["request"].as_object_mut().unwrap().remove("map");
    let old: SavedClustering = serde_json::from_value(old).unwrap();
    assert_eq!(old.request.map, MapMethod::Pca);

    // A new member of family 1, next to row 1 (cosine ≈ 0.99).
    let near_one: Vec<f32> = c.row(1).to_vec();
    let mut rng = Lcg::new(5);
    let mut v: Vec<f32> = near_one.iter().map(|x| x + 0.02 * rng.normal()).collect();
    imgtui::features::l2_normalize(&mut v);
    c.push("new.png".into(), [255; 32], &v, 1.0);
    let new = c.len() - 1;

    let (placed, added) = saved.apply(&c);
    assert_eq!(added, 1);
    // The known images keep their places.
    assert_eq!(placed.map[..new], fitted.map[..]);
    // The new one sits at the similarity-weighted mean of its 5 nearest mapped images.
    let sims: Vec<f32> = (0..new)
        .map(|j| imgtui::collection::dot(&c.row(new), &c.row(j)))
        .collect();
    let mut order: Vec<usize> = (0..new).collect();
    order.sort_by(|&a, &b| sims[b].total_cmp(&sims[a]));
    let (mut xy, mut total) = ([0f32; 2], 0f32);
    for &j in &order[..5] {
        let w = sims[j].max(0.0) + 1e-6;
        xy = [xy[0] + w * fitted.map[j][0], xy[1] + w * fitted.map[j][1]];
        total += w;
    }
    let at = placed.map[new];
    assert!(
        (at[0] - xy[0] / total).abs() < 1e-4 && (at[1] - xy[1] / total).abs() < 1e-4,
        "{at:?} vs {:?}",
        [xy[0] / total, xy[1] / total]
    );
    // So its neighbours on the map are of its family.
    let family = map_neighbours(&placed.map, new, 10)
        .into_iter()
        .filter(|j| j % 3 == 1)
        .count();
    assert!(family >= 9, "{family} of 10");
    assert_eq!(placed.labels[new], placed.labels[1]);
}

#[test]
fn a_refit_with_another_k_keeps_the_map() {
    use imgtui::analysis::saved::{FitWith, Wanted, load_or_fit};
    let dir = tempfile::tempdir().unwrap();
    let mut store = imgtui::Store::open(&dir.path().join("s.sqlite")).unwrap();
    let c = three_families();
    let root = std::path::Path::new("/families");
    let fit_k = |store: &mut imgtui::Store, k: usize| {
        let wanted = Wanted {
            k: Some(KChoice::Fixed(k)),
            ..Wanted::default()
        };
        load_or_fit(
            store,
            root,
            "test",
            &c,
            &Request::default(),
            &wanted,
            &FitWith::quiet(None),
        )
        .unwrap()
        .0
    };
    let three = fit_k(&mut store, 3);
    let four = fit_k(&mut store, 4);
    assert_eq!(four.k, 4);
    assert_eq!(three.map, four.map, "k changed, the map did not");
    // Asked for another map, it is made anew.
    let wanted = Wanted {
        map: Some(MapMethod::Pca),
        ..Wanted::default()
    };
    let pca = load_or_fit(
        &mut store,
        root,
        "test",
        &c,
        &Request::default(),
        &wanted,
        &FitWith::quiet(None),
    )
    .unwrap()
    .0;
    assert_ne!(pca.map, four.map);
}
