//! Batching: sizes, the last partial batch, seeded per-epoch shuffles.

use gan_data::{DataError, Dataset, ImageShape, Loader, LoaderOptions};

/// `n` 1x1x2 items whose values are (i, -i), labelled i mod 3.
fn numbered(n: usize) -> Dataset {
    let images = (0..n).flat_map(|i| [i as f32, -(i as f32)]).collect();
    let labels = (0..n as u32).map(|i| i % 3).collect();
    Dataset::new(images, ImageShape::new(1, 1, 2), Some(labels), 3).unwrap()
}

fn ids(batch: &gan_data::Batch) -> Vec<usize> {
    batch.images.chunks(2).map(|p| p[0] as usize).collect()
}

#[test]
fn drop_last_gives_only_full_batches() {
    let ds = numbered(10);
    let loader = Loader::new(&ds, LoaderOptions::new(4)).unwrap();
    assert_eq!(loader.batches_per_epoch(), 2);
    let batches: Vec<_> = loader.epoch(0).collect();
    assert_eq!(batches.len(), 2);
    assert!(batches.iter().all(|b| b.nchw() == [4, 1, 1, 2]));
}

#[test]
fn keep_last_yields_the_partial_batch() {
    let ds = numbered(10);
    let opts = LoaderOptions {
        drop_last: false,
        shuffle: false,
        ..LoaderOptions::new(4)
    };
    let loader = Loader::new(&ds, opts).unwrap();
    assert_eq!(loader.batches_per_epoch(), 3);
    let sizes: Vec<usize> = loader.epoch(0).map(|b| b.len()).collect();
    assert_eq!(sizes, [4, 4, 2]);
    let all: Vec<usize> = loader.epoch(0).flat_map(|b| ids(&b)).collect();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
}

#[test]
fn each_epoch_is_a_seeded_permutation() {
    let ds = numbered(100);
    let opts = LoaderOptions {
        seed: 42,
        drop_last: false,
        ..LoaderOptions::new(7)
    };
    let loader = Loader::new(&ds, opts).unwrap();
    let epoch = |e| -> Vec<usize> { loader.epoch(e).flat_map(|b| ids(&b)).collect() };
    let (e0, e1) = (epoch(0), epoch(1));
    assert_eq!(e0, epoch(0), "same seed and epoch, same order");
    assert_ne!(e0, e1, "epochs differ");
    assert_ne!(e0, (0..100).collect::<Vec<_>>(), "shuffled");
    let mut sorted = e1.clone();
    sorted.sort();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>(), "every item once");
    let other = Loader::new(&ds, LoaderOptions { seed: 43, ..opts }).unwrap();
    assert_ne!(other.order(0), loader.order(0), "seeds differ");
}

#[test]
fn labels_follow_their_items() {
    let ds = numbered(30);
    let loader = Loader::new(&ds, LoaderOptions::new(8)).unwrap();
    for b in loader.epoch(3) {
        let labels = b.labels.as_ref().unwrap();
        for (id, &l) in ids(&b).iter().zip(labels) {
            assert_eq!(l as usize, id % 3);
        }
        for p in b.images.chunks(2) {
            assert_eq!(p[1], -p[0]);
        }
    }
}

#[test]
fn batch_larger_than_the_dataset() {
    let ds = numbered(3);
    let loader = Loader::new(&ds, LoaderOptions::new(5)).unwrap();
    assert_eq!(loader.epoch(0).count(), 0);
    let keep = LoaderOptions {
        drop_last: false,
        ..LoaderOptions::new(5)
    };
    let loader = Loader::new(&ds, keep).unwrap();
    assert_eq!(loader.epoch(0).map(|b| b.len()).collect::<Vec<_>>(), [3]);
}

#[test]
fn batch_size_zero_is_an_error() {
    let ds = numbered(3);
    let err = Loader::new(&ds, LoaderOptions::new(0)).unwrap_err();
    assert!(matches!(err, DataError::InvalidArgument(_)));
}

#[test]
fn sources_load_their_splits() {
    use gan_data::{Source, Split, ToyDistribution};
    let toy = Source::Toy {
        distribution: ToyDistribution::grid25(),
        n: 50,
        seed: 1,
    };
    let (train, test) = (
        toy.load(Split::Train).unwrap(),
        toy.load(Split::Test).unwrap(),
    );
    assert_eq!(train.nchw(), [50, 2, 1, 1]);
    assert_eq!(train.num_classes(), 25);
    assert_ne!(train, test);
    let mnist = Source::Mnist(None).load(Split::Test).unwrap();
    assert_eq!(mnist.len(), 10000);
    let dir = tempfile::tempdir().unwrap();
    let folder = Source::Folder(dir.path().into(), gan_data::FolderOptions::new(8));
    assert!(matches!(
        folder.load(Split::Test),
        Err(DataError::InvalidArgument(_))
    ));
    assert!(matches!(
        folder.load(Split::Train),
        Err(DataError::NoImages { .. })
    ));
}
