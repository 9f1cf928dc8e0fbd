//! The beacon: a few `name=value` lines the writer keeps in its key file so
//! that a reader (or a person with `cat`) can tell which writer, in which IPC
//! namespace, publishes through the key, even when the segment itself is out
//! of reach.

use std::fmt;

/// What the writer says about itself in the key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beacon {
    /// The writer's pid in its own pid namespace (1 when it is a container's init).
    pub pid: u32,
    /// Inode of the writer's IPC namespace (`/proc/<pid>/ns/ipc`).
    pub ipc_ns: u64,
    /// The key, as `0x%08x`.
    pub key: String,
    /// The segment id.
    pub shmid: i32,
    /// When the writer started, RFC 3339.
    pub started: String,
    /// `running` or `stopped`.
    pub state: String,
}

impl Beacon {
    /// Parse a beacon; `None` when the text is not one (an empty key file
    /// left by the C writer, say).
    pub fn parse(text: &str) -> Option<Self> {
        let field = |name: &str| {
            text.lines()
                .filter_map(|line| line.split_once('='))
                .find(|(k, _)| k.trim() == name)
                .map(|(_, v)| v.trim().to_owned())
        };
        Some(Self {
            pid: field("pid")?.parse().ok()?,
            ipc_ns: field("ipc_ns")?.parse().ok()?,
            key: field("key")?,
            shmid: field("shmid")?.parse().ok()?,
            started: field("started").unwrap_or_default(),
            state: field("state").unwrap_or_default(),
        })
    }

    /// Whether the writer said it stopped cleanly.
    pub fn stopped(&self) -> bool {
        self.state == "stopped"
    }
}

impl fmt::Display for Beacon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "# shm_write beacon: the writer publishing through this key file"
        )?;
        writeln!(f, "pid={}", self.pid)?;
        writeln!(f, "ipc_ns={}", self.ipc_ns)?;
        writeln!(f, "key={}", self.key)?;
        writeln!(f, "shmid={}", self.shmid)?;
        writeln!(f, "started={}", self.started)?;
        writeln!(f, "state={}", self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let beacon = Beacon {
            pid: 1,
            ipc_ns: 4026531839,
            key: "0x08012345".into(),
            shmid: 7,
            started: "2026-01-01T00:00:00Z".into(),
            state: "running".into(),
        };
        assert_eq!(Beacon::parse(&beacon.to_string()), Some(beacon));
    }

    #[test]
    fn empty_or_garbage_is_none() {
        assert_eq!(Beacon::parse(""), None);
        assert_eq!(Beacon::parse("pid=x\nipc_ns=1\nkey=k\nshmid=1"), None);
    }
}
