//! `scripts/build-static` prints where cargo put the binaries, so that what
//! uses it (these tests, `scripts/image`, `scripts/bench`) runs what was
//! just built, wherever `CARGO_TARGET_DIR` points.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use shm_tests::{target_dir, workspace, TempDir};

/// The newest modification time of the files under `path`.
fn newest(path: &Path) -> SystemTime {
    let meta = std::fs::metadata(path).unwrap();
    if !meta.is_dir() {
        return meta.modified().unwrap();
    }
    std::fs::read_dir(path)
        .unwrap()
        .map(|entry| newest(&entry.unwrap().path()))
        .fold(SystemTime::UNIX_EPOCH, SystemTime::max)
}

#[test]
fn build_static_prints_the_target_directory_it_was_given() {
    // The target directory of this build, reached through a symbolic link
    // in a directory of our own: cargo finds it up to date (no rebuild, so
    // the test is cheap), and a printed path outside the link is wrong.
    let target = target_dir();
    let temp = TempDir::new("build-static");
    let dir = &temp.0;
    std::os::unix::fs::symlink(&target, dir.join("elsewhere")).unwrap();
    // Relative, as typed in a shell: taken from the caller's directory.
    let out = Command::new(workspace().join("scripts/build-static"))
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", "elsewhere")
        .env("CARGO", env!("CARGO"))
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "scripts/build-static failed");
    let printed = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert_eq!(
        printed,
        dir.join("elsewhere/x86_64-unknown-linux-gnu/release")
    );
    let sources = ["shm-common", "shm-read", "shm-write"]
        .map(|crate_dir| newest(&workspace().join(crate_dir).join("src")))
        .into_iter()
        .fold(SystemTime::UNIX_EPOCH, SystemTime::max);
    for name in ["shm_write", "shm_read"] {
        let binary = printed.join(name);
        let built = std::fs::metadata(&binary)
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        assert!(built >= sources, "{name} is older than its sources");
        let version = Command::new(&binary).arg("--version").output().unwrap();
        assert!(version.status.success(), "{version:?}");
    }
}
