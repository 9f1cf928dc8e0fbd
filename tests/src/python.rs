//! The `shmtools` Python package for the tests: a virtual environment made
//! once per test process by `scripts/python-env` (the package installed by
//! `pip install ./shm-py`, as its users install it, and numpy), and Python
//! programs run in a [`Sandbox`] beside the real binaries.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::{workspace, Proc, Sandbox};

/// The virtual environment's `python`, with `shmtools` freshly installed.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let target = crate::target_dir();
            let out = Command::new(workspace().join("scripts/python-env"))
                .arg(target.join("python"))
                .env("CARGO_TARGET_DIR", &target)
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()
                .expect("run scripts/python-env");
            assert!(
                out.status.success(),
                "scripts/python-env failed: it needs python3-venv (scripts/test installs it) and PyPI"
            );
            PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
        })
        .clone()
}

impl Sandbox {
    /// `python -c code args...` in the sandbox, unbuffered.
    pub fn python(&self, code: &str, args: &[&str]) -> Command {
        let mut cmd = self.command(python());
        cmd.args(["-u", "-c", code]).args(args);
        cmd
    }

    /// Start a Python program in the sandbox, its output collected.
    pub fn python_proc(&self, code: &str, args: &[&str]) -> Proc {
        Proc::spawn(&mut self.python(code, args))
    }
}

/// The project image ([`crate::docker::IMAGE`]) with this machine's Python
/// and the `shmtools` package, built once per test process by
/// `scripts/python-image`.
pub const PYTHON_IMAGE: &str = "shm-time-python:test";

/// [`PYTHON_IMAGE`], built on the images the container tests use.
pub fn python_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        crate::docker::images();
        python();
        crate::docker::rebuild(PYTHON_IMAGE, || {
            let out = Command::new(workspace().join("scripts/python-image"))
                .arg(PYTHON_IMAGE)
                .env("BASE_IMAGE", crate::docker::IMAGE)
                .env("CARGO_TARGET_DIR", crate::target_dir())
                .stdin(Stdio::null())
                .output()
                .expect("run scripts/python-image");
            assert!(
                out.status.success(),
                "scripts/python-image failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        });
    });
    PYTHON_IMAGE
}

/// The program of the ```` ```python ```` block of `doc` (relative to the
/// workspace) whose first line is `# NAME`.
pub fn doc_program(doc: &str, name: &str) -> String {
    let text = std::fs::read_to_string(workspace().join(doc)).unwrap();
    let first = format!("# {name}");
    text.split("```python\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("\n```").map(|(code, _)| code))
        .find(|code| code.lines().next() == Some(first.as_str()))
        .unwrap_or_else(|| panic!("{doc} has no python block starting with `{first}`"))
        .to_owned()
        + "\n"
}
