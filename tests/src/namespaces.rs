//! `shm_read --list --all-namespaces --format json`, run on the host and
//! parsed, for the tests that look for their own namespaces in it (the
//! machine has others): by the inode of a process's `/proc/<pid>/ns/ipc`.

use std::process::{Command, Output};

use serde_json::Value;

use crate::bin;

/// The JSON listing as a container runs it from the project image.
pub const IN_CONTAINER: [&str; 5] = [
    "/bin/shm_read",
    "--list",
    "--all-namespaces",
    "--format",
    "json",
];

/// `shm_read --list --all-namespaces` with `more` flags, run on the host.
pub fn list_all(more: &[&str]) -> Output {
    Command::new(bin("shm_read"))
        .args(["--list", "--all-namespaces"])
        .args(more)
        .output()
        .expect("run shm_read")
}

/// The JSON listing, parsed; fails the test unless it exits 0.
pub fn listing() -> Value {
    let out = list_all(&["--format", "json"]);
    assert!(
        out.status.success(),
        "shm_read --list --all-namespaces failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the listing is one JSON document")
}

/// The namespace object with `inode`, if listed.
pub fn namespace(doc: &Value, inode: u64) -> Option<&Value> {
    doc["namespaces"]
        .as_array()
        .expect("a namespaces array")
        .iter()
        .find(|ns| ns["namespace"]["inode"] == inode)
}

/// The inode of process `pid`'s IPC namespace.
pub fn ipc_inode(pid: u32) -> u64 {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/ipc")).unwrap();
    let text = link.to_string_lossy();
    text.trim_start_matches("ipc:[")
        .trim_end_matches(']')
        .parse()
        .unwrap()
}
