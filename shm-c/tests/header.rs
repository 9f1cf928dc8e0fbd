//! The committed `include/shmtools.h` is what cbindgen generates from the
//! crate today: a stale header fails here. `SHMTOOLS_WRITE_HEADER=1`
//! (what `scripts/c-header` sets) writes it instead.

use std::path::Path;

#[test]
fn the_committed_header_is_what_cbindgen_generates() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let committed_path = crate_dir.join("include/shmtools.h");
    if std::env::var_os("SHMTOOLS_WRITE_HEADER").is_some() {
        std::fs::write(&committed_path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read(&committed_path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: run scripts/c-header and commit the result",
        committed_path.display()
    );
}
