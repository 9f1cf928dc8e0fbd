//! The build script of shm_write and shm_read: give the binary the commit
//! it is built from, as `SHM_TOOLS_BUILD_COMMIT`, for `--version` and the
//! man page. From git when the workspace is a checkout's top (with
//! `-dirty` when the tools' sources differ from that commit), else from
//! `SHM_TOOLS_COMMIT` (a build from a tarball), else empty ("unknown
//! commit"): a build never fails for want of git.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the binaries are built from, relative to the workspace: a change
/// here makes the build `-dirty` and runs this script again.
const SOURCES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "build",
    "shm-common",
    "shm-read",
    "shm-write",
];

fn main() {
    println!("cargo:rerun-if-env-changed=SHM_TOOLS_COMMIT");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let workspace = manifest.parent().unwrap_or(&manifest);
    // Named with or without git: cargo then also runs this again for the
    // same package built from another directory (a new clone or tarball
    // reusing the target directory), whose paths these are not.
    for source in SOURCES {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(source).display()
        );
    }
    let commit = from_git(workspace)
        .or_else(|| std::env::var("SHM_TOOLS_COMMIT").ok())
        .unwrap_or_default();
    println!("cargo:rustc-env=SHM_TOOLS_BUILD_COMMIT={}", commit.trim());
}

/// `git -C workspace args...`'s output, trimmed, if it succeeded.
fn git(workspace: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("--no-optional-locks")
        .arg("-C")
        .arg(workspace)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    out.status.success().then(|| text.trim().to_owned())
}

/// The short commit of HEAD, `-dirty` when the sources differ from it;
/// `None` when the workspace is not the top of a git checkout (a tarball
/// unpacked inside some other repository is not built from its commit).
fn from_git(workspace: &Path) -> Option<String> {
    let top = PathBuf::from(git(workspace, &["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != workspace.canonicalize().ok()? {
        return None;
    }
    let commit = git(workspace, &["rev-parse", "--short", "HEAD"])?;
    // A commit, a checkout or a change staged moves one of these.
    let mut watched = vec![
        "HEAD".to_owned(),
        "index".to_owned(),
        "packed-refs".to_owned(),
    ];
    watched.extend(git(workspace, &["symbolic-ref", "-q", "HEAD"]));
    for name in watched {
        if let Some(path) = git(workspace, &["rev-parse", "--git-path", &name]) {
            println!("cargo:rerun-if-changed={}", workspace.join(path).display());
        }
    }
    let mut status = vec!["status", "--porcelain", "--untracked-files=no", "--"];
    status.extend(SOURCES);
    let changes = git(workspace, &status)?;
    Some(if changes.is_empty() {
        commit
    } else {
        format!("{commit}-dirty")
    })
}
