//! Segments made of bytes, for the fuzz targets and their stable replays:
//! a fuzzer's input as words, and the committed seed corpora.

use std::sync::atomic::AtomicU64;

/// A segment of whole 8-byte words from `data` (at most the C originals'
/// 4096 bytes; a trailing partial word is zero-padded).
pub fn words_of(data: &[u8]) -> Vec<AtomicU64> {
    data[..data.len().min(4096)]
        .chunks(8)
        .map(|chunk| {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            AtomicU64::new(u64::from_le_bytes(word))
        })
        .collect()
}

/// The seeds of `fuzz/corpus/<target>/`, by name.
#[allow(dead_code)] // The fuzz targets read their corpus through libFuzzer.
pub fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    seeds
}
