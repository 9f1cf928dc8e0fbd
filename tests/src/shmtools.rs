//! libshmtools, the C binding, as C programs get it: installed into a
//! prefix by `scripts/build-c` (once per test process), and C programs
//! compiled against it with `pkg-config`, linked dynamically or statically.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::{target_dir, workspace, Sandbox};

/// How a C program links libshmtools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// `libshmtools.so`, found through the rpath pkg-config's libdir gives.
    Dynamic,
    /// `libshmtools.a`, with `pkg-config --static`'s libraries.
    Static,
}

/// The prefix `scripts/build-c` installed libshmtools into (under the
/// target directory).
pub fn prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let prefix = target_dir().join("shmtools-prefix");
        let out = Command::new(workspace().join("scripts/build-c"))
            .arg(&prefix)
            .env("CARGO", env!("CARGO"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/build-c");
        assert!(out.status.success(), "scripts/build-c failed");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// `pkg-config ARGS shmtools` against the installed prefix, split into words.
pub fn pkg_config(args: &[&str]) -> Vec<String> {
    let out = Command::new("pkg-config")
        .args(args)
        .arg("shmtools")
        .env("PKG_CONFIG_PATH", prefix().join("lib/pkgconfig"))
        .output()
        .expect("run pkg-config");
    assert!(
        out.status.success(),
        "pkg-config {args:?} shmtools: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Compile the C program `source` against the installed libshmtools as a
/// C program's build would (`cc prog.c $(pkg-config --cflags --libs
/// shmtools)`), linked as `link`, into `out`; panics with cc's output on
/// failure.
pub fn compile(source: &Path, out: &Path, link: Link) {
    let mut cc = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()));
    cc.args(["-Wall", "-Wextra", "-Werror", "-O2", "-o"])
        .arg(out)
        .arg(source)
        .args(pkg_config(&["--cflags"]));
    match link {
        Link::Dynamic => {
            let libdir = pkg_config(&["--variable=libdir"]).join("");
            cc.args(pkg_config(&["--libs"]))
                .arg(format!("-Wl,-rpath,{libdir}"));
        }
        Link::Static => {
            let libdir = pkg_config(&["--variable=libdir"]).join("");
            cc.arg(Path::new(&libdir).join("libshmtools.a"))
                .args(pkg_config(&["--static", "--libs"]));
        }
    }
    let built = cc.output().expect("run the C compiler (cc)");
    assert!(
        built.status.success(),
        "cc failed on {}: {}",
        source.display(),
        String::from_utf8_lossy(&built.stderr)
    );
}

/// A C program built by [`compile`], run in `sandbox` as it runs anywhere:
/// without the `LD_LIBRARY_PATH` cargo gives its tests, whose target
/// directories hold other builds of `libshmtools.so` that would come
/// before the one the program's run path names.
pub fn command(sandbox: &Sandbox, program: &Path) -> Command {
    let mut cmd = sandbox.command(program);
    cmd.env_remove("LD_LIBRARY_PATH");
    cmd
}

/// `tests/c/shmtools_check.c` compiled as `link`, once per test process.
pub fn check_program(link: Link) -> PathBuf {
    static BUILT: OnceLock<[PathBuf; 2]> = OnceLock::new();
    let [dynamic, fixed] = BUILT.get_or_init(|| {
        let dir = prefix().join("bin");
        std::fs::create_dir_all(&dir).unwrap();
        let source = workspace().join("tests/c/shmtools_check.c");
        [Link::Dynamic, Link::Static].map(|link| {
            let out = dir.join(format!("shmtools_check_{link:?}").to_lowercase());
            compile(&source, &out, link);
            out
        })
    });
    match link {
        Link::Dynamic => dynamic.clone(),
        Link::Static => fixed.clone(),
    }
}
