//! Whether the process that created an object still runs, decided from
//! what can be known, and said to be unknown otherwise.
//!
//! The kernel keeps a segment's creator pid and shows it in the pid
//! namespace of whoever reads the table (0 when the creator has no pid
//! there), so a pid shown is one this process can look up: gone when no
//! process of the namespace has it, or the one that has it started after
//! the segment was made (the pid was reused); unknown when that process
//! may not be looked at (another user's, for a lister that is not root). Message queues and
//! semaphore sets keep no creator pid, only its uid: their creator is
//! gone when no process of the namespace running as that uid (real,
//! effective, saved or filesystem) started before the object was made,
//! which only a process that sees every process (the initial PID
//! namespace) can tell, and only when no process it may not look at
//! (another user's, for a lister that is not root) could be one. (Kubernetes' pause process, which holds a pod's
//! namespace from its start, runs as another uid than the pod's programs
//! as a rule; one that dropped every uid it created an object with is not
//! recognised as its creator.) This is not liveness of a writer (which never uses pids, see
//! docs/architecture.md): it only flags leaks for a person to remove.

use std::cell::OnceCell;

use crate::transport::namespace;
use crate::transport::procs::{self, Attached, Procs};

/// Start times are whole seconds counted from the boot time, itself
/// rounded: a process started this much after an object's change time may
/// still be its creator.
const SLACK_SECS: i64 = 2;

/// The creator of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Creator {
    /// It runs, in this namespace.
    Running {
        /// The process, named.
        process: Attached,
        /// Its command line, arguments joined by spaces and escaped
        /// (what `lsipc` shows as `COMMAND`).
        command_line: String,
    },
    /// No process of the namespace can be it.
    Gone,
    /// Cannot be told, and why.
    Unknown(Unknown),
}

/// Why a creator cannot be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// Its pid is not in this process's PID namespace (the kernel shows 0),
    /// or this process cannot see every process of the IPC namespace (it
    /// runs in a container, or may not read other users' processes).
    NotInView,
    /// The kernel keeps no creator pid for this kind, and a process of the
    /// creator's uid that started before the object was made still runs
    /// in the namespace.
    NotRecorded,
}

/// Judges creators against one scan of the namespace's processes.
pub struct Judge<'a> {
    procs: &'a Procs,
    sees_all: bool,
    /// Each process's start time and uids, and whether it is a member (or
    /// only maybe one, hidden), read on first use.
    processes: OnceCell<Vec<Process>>,
}

/// What a creator without a pid is recognised by.
struct Process {
    started: Option<i64>,
    uids: Option<[u32; 4]>,
    member: bool,
}

impl<'a> Judge<'a> {
    /// A judge over `procs`.
    pub fn new(procs: &'a Procs) -> Self {
        Self {
            procs,
            sees_all: namespace::sees_every_process(),
            processes: OnceCell::new(),
        }
    }

    /// The creator with pid `cpid` (as this process sees pids; 0 when it
    /// has none here) of an object changed last at `ctime`.
    pub fn by_pid(&self, cpid: i32, ctime: i64) -> Creator {
        let Ok(pid) = u32::try_from(cpid) else {
            return Creator::Unknown(Unknown::NotInView);
        };
        if pid == 0 {
            return Creator::Unknown(Unknown::NotInView);
        }
        match self.procs.member(pid) {
            Some(process) if self.may_have_made(pid, ctime) => Creator::Running {
                command_line: procs::command_line(pid).unwrap_or_else(|| process.command.clone()),
                process,
            },
            None if self.procs.hidden(pid) => Creator::Unknown(Unknown::NotInView),
            _ => Creator::Gone,
        }
    }

    /// The creator, of uid `cuid`, of an object of a kind that records no
    /// creator pid, changed last at `ctime`: a process of that uid old
    /// enough is a member (`NotRecorded`), or one that could not be looked
    /// at may be (`NotInView`), or there is none (`Gone`).
    pub fn unrecorded(&self, cuid: u32, ctime: i64) -> Creator {
        if !self.sees_all {
            return Creator::Unknown(Unknown::NotInView);
        }
        let processes = self.processes.get_or_init(|| {
            let member = self.procs.members().iter().map(|&pid| (pid, true));
            let hidden = self.procs.hidden_pids().iter().map(|&pid| (pid, false));
            // This process makes no IPC object: it is nobody's creator.
            let me = std::process::id();
            member
                .chain(hidden)
                .filter(|&(pid, _)| pid != me)
                .map(|(pid, member)| Process {
                    started: self.procs.started(pid),
                    uids: self.procs.uids(pid),
                    member,
                })
                .collect()
        });
        let mut creator = Creator::Gone;
        for p in processes {
            let could = p.uids.is_none_or(|uids| uids.contains(&cuid))
                && p.started.is_none_or(|s| s <= ctime + SLACK_SECS);
            match (could, p.member) {
                (true, true) => return Creator::Unknown(Unknown::NotRecorded),
                (true, false) => creator = Creator::Unknown(Unknown::NotInView),
                (false, _) => {}
            }
        }
        creator
    }

    /// Whether process `pid` started early enough to have made an object
    /// changed last at `ctime` (true when its start cannot be read).
    fn may_have_made(&self, pid: u32, ctime: i64) -> bool {
        self.procs
            .started(pid)
            .is_none_or(|start| start <= ctime + SLACK_SECS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::clock::Timestamp;

    /// Against this test process, the one member of the scan.
    #[test]
    fn judges_by_pid_start_time_and_uid() {
        let me = std::process::id();
        let procs = Procs::scan(namespace::ipc_namespace().unwrap(), [me]);
        let judge = Judge::new(&procs);
        let now = Timestamp::now().secs;
        assert!(matches!(
            judge.by_pid(me as i32, now),
            Creator::Running { process, .. } if process.pid == me
        ));
        // Made long before this process started: its pid was reused.
        assert_eq!(judge.by_pid(me as i32, 1_000), Creator::Gone);
        assert_eq!(judge.by_pid(0x3fff_ffff, now), Creator::Gone);
        assert_eq!(judge.by_pid(0, now), Creator::Unknown(Unknown::NotInView));
        let uid = nix::unistd::geteuid().as_raw();
        if namespace::sees_every_process() {
            // This process is nobody's creator, whatever its uid.
            assert_eq!(judge.unrecorded(uid, now), Creator::Gone);
            let parent = nix::unistd::getppid().as_raw() as u32;
            let both = Procs::scan(namespace::ipc_namespace().unwrap(), [me, parent]);
            let judge = Judge::new(&both);
            let parent_uid = both.uids(parent).unwrap()[1];
            assert_eq!(
                judge.unrecorded(parent_uid, now),
                Creator::Unknown(Unknown::NotRecorded)
            );
            assert_eq!(judge.unrecorded(parent_uid, 1_000), Creator::Gone);
            assert_eq!(
                judge.unrecorded(parent_uid.wrapping_add(4242), now),
                Creator::Gone
            );
        } else {
            assert_eq!(
                judge.unrecorded(uid, now),
                Creator::Unknown(Unknown::NotInView)
            );
        }
    }
}
