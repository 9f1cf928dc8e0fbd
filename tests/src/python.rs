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
