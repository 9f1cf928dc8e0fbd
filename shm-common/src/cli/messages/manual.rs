//! The words of the man pages beyond the flags (clap gives those): what
//! the tools read from their environment, the files they use, and the
//! classic walkthrough; and the version line with the commit it was built
//! from.

use crate::cli::exit::Tool;
use crate::transport::key::DEFAULT_KEY_FILE;

/// `--generate`'s help.
pub const GENERATE_HELP: &str =
    "Print this tool's man page (man) or its completion script for bash, zsh or fish, and exit";

/// The version `--version` prints and the man page names: the package's,
/// and the commit it was built from (empty when unknown: built outside a
/// git checkout without `SHM_TOOLS_COMMIT`).
pub fn version(commit: &str) -> String {
    let version = env!("CARGO_PKG_VERSION");
    if commit.is_empty() {
        format!("{version} (unknown commit)")
    } else {
        format!("{version} (commit {commit})")
    }
}

/// A term and what it means, as a man page's tagged paragraph.
pub type Entry = (&'static str, &'static str);

/// The ENVIRONMENT section: a paragraph, then the variables `tool` reads.
pub fn environment(tool: Tool) -> (&'static str, &'static [Entry]) {
    match tool {
        Tool::Writer => (
            "shm_write reads no environment variable. What decides who sees its segment is the \
             IPC namespace it runs in: a reader must share it (docker run --ipc container:NAME, \
             Compose ipc: service:NAME, one Kubernetes pod).",
            &[],
        ),
        Tool::Reader => (
            "shm_read reads one variable, to tell where it runs when no writer is found:",
            &[(
                "KUBERNETES_SERVICE_HOST",
                "Set in every Kubernetes pod. Beside /.dockerenv and /run/.containerenv, it \
                 chooses the way to share the writer's IPC namespace that the diagnosis gives.",
            )],
        ),
    }
}

/// The FILES section.
pub fn files(tool: Tool) -> Vec<Entry> {
    let key_file = match tool {
        Tool::Writer => {
            "The default key file (--key-file). shm_write creates it, locks it while it \
             publishes and writes its beacon in it (pid, key, IPC namespace, state); its inode \
             and --proj-id make the System V key, as ftok(3) does."
        }
        Tool::Reader => {
            "The default key file (--key-file): its inode and --proj-id make the \
             System V key, as ftok(3) does, and its beacon says which writer holds it. shm_read \
             never creates it."
        }
    };
    let mut files = vec![(DEFAULT_KEY_FILE, key_file)];
    if tool == Tool::Reader {
        files.push((
            "/proc/sysvipc/shm",
            "The segments of this IPC namespace, which --list and --inspect read.",
        ));
        files.push((
            "/dev/mqueue",
            "The POSIX message queues of this IPC namespace, which --list and --inspect --mqueue read.",
        ));
    }
    files
}

/// The EXAMPLES section, the classic walkthrough: what each step does and
/// its command.
pub const EXAMPLES: &[Entry] = &[
    (
        "Publish the time every second in the background:",
        "shm_write &",
    ),
    (
        "Print it, once a second, from the same IPC namespace:",
        "shm_read",
    ),
    (
        "Read it from another container, in the writer container's IPC namespace (image shm-time, \
         writer started with docker run -d --name shm-writer --ipc shareable shm-time):",
        "docker run --rm --ipc container:shm-writer shm-time /bin/shm_read",
    ),
];

/// The man pages' manual (the centre of their header).
pub const MANUAL: &str = "User Commands";
