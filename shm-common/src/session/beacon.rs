//! The beacon: a few `name=value` lines the writer keeps in its key file so
//! that a reader (or a person with `cat`) can tell which writer, in which IPC
//! namespace, publishes through the key, even when the segment itself is out
//! of reach. The key file only stores the bytes; what they say is read and
//! written here.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::transport::key::Key;
use crate::transport::key_file::{KeyFile, KeyFileError};
use crate::transport::namespace::Ns;

/// Whether the beacon's writer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeaconState {
    /// Publishing (or killed before it could say otherwise).
    Running,
    /// Stopped cleanly and removed its segment.
    Stopped,
    /// Stopped on an error (its input failed, say) and removed its segment.
    Failed,
}

/// What the writer says about itself in the key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beacon {
    /// The writer's pid in its own pid namespace (1 when it is a container's init).
    pub pid: u32,
    /// The writer's IPC namespace.
    pub ipc_ns: Ns,
    /// The key it publishes under.
    pub key: Key,
    /// The segment id.
    pub shmid: i32,
    /// When the writer started (whole seconds).
    pub started: DateTime<Utc>,
    /// Running, stopped or failed.
    pub state: BeaconState,
}

impl Beacon {
    /// Parse a beacon; `None` when the text is not one (an empty key file
    /// left by the C writer, say).
    pub fn parse(text: &str) -> Option<Self> {
        let field = |name: &str| {
            text.lines()
                .filter_map(|line| line.split_once('='))
                .find(|(k, _)| k.trim() == name)
                .map(|(_, v)| v.trim())
        };
        let key = field("key")?.strip_prefix("0x")?;
        Some(Self {
            pid: field("pid")?.parse().ok()?,
            ipc_ns: Ns(field("ipc_ns")?.parse().ok()?),
            key: Key(u32::from_str_radix(key, 16).ok()? as i32),
            shmid: field("shmid")?.parse().ok()?,
            started: field("started")
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map_or(DateTime::UNIX_EPOCH, |t| t.with_timezone(&Utc)),
            state: match field("state") {
                Some("stopped") => BeaconState::Stopped,
                Some("failed") => BeaconState::Failed,
                _ => BeaconState::Running,
            },
        })
    }

    /// The beacon a writer left in `key_file`: `Ok(None)` when it holds
    /// none (not text, cut short, or no beacon in it), `PermissionDenied`
    /// when this user may not read it.
    pub fn read(key_file: &KeyFile) -> Result<Option<Self>, KeyFileError> {
        Ok(key_file
            .read_content()?
            .and_then(|content| std::str::from_utf8(&content).ok().and_then(Self::parse)))
    }

    /// Replace `key_file`'s content with this beacon (the inode, and so the
    /// key, stays the same).
    pub fn write(&self, key_file: &KeyFile) -> Result<(), KeyFileError> {
        key_file.write_content(self.to_string().as_bytes())
    }
}

impl fmt::Display for Beacon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "# shm_write beacon: the writer publishing through this key file"
        )?;
        writeln!(f, "pid={}", self.pid)?;
        writeln!(f, "ipc_ns={}", self.ipc_ns.0)?;
        writeln!(f, "key={}", self.key)?;
        writeln!(f, "shmid={}", self.shmid)?;
        writeln!(
            f,
            "started={}",
            self.started.to_rfc3339_opts(SecondsFormat::Secs, true)
        )?;
        let state = match self.state {
            BeaconState::Running => "running",
            BeaconState::Stopped => "stopped",
            BeaconState::Failed => "failed",
        };
        writeln!(f, "state={state}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let beacon = Beacon {
            pid: 1,
            ipc_ns: Ns(4026531839),
            key: Key(0x0801_2345),
            shmid: 7,
            started: DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
            state: BeaconState::Stopped,
        };
        let text = beacon.to_string();
        assert!(
            text.contains("key=0x08012345\n") && text.contains("started=2026-01-01T00:00:00Z\n")
        );
        assert_eq!(Beacon::parse(&text), Some(beacon.clone()));
        let failed = Beacon {
            state: BeaconState::Failed,
            ..beacon
        };
        assert_eq!(Beacon::parse(&failed.to_string()), Some(failed));
    }

    #[test]
    fn empty_or_garbage_is_none() {
        assert_eq!(Beacon::parse(""), None);
        assert_eq!(Beacon::parse("pid=x\nipc_ns=1\nkey=0x1\nshmid=1"), None);
        assert_eq!(Beacon::parse("pid=1\nipc_ns=1\nkey=k\nshmid=1"), None);
    }
}
