//! What a reader says while no live writer answers: the namespace
//! diagnosis of a missing segment (what is wrong, then the one fix that
//! fits where the reader runs; every fix with `--explain`), and the states
//! of one that is there.

use std::path::Path;
use std::time::Duration;

use crate::session::find::{Absence, Absent};
use crate::transport::place::Place;
use crate::transport::segment::SegmentInfo;

/// Where the short diagnosis sends a reader who wants more.
const MORE: &str = "--explain, or docs/troubleshooting.md";

/// Which side of a key waits, for the words of its diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `shm_read` following a time or a value: it waits for a writer.
    Reader,
    /// `shm_read --stream`: it waits for a producer.
    Consumer,
}

impl Side {
    /// What the waiting side is called.
    fn me(self) -> &'static str {
        match self {
            Side::Reader => "reader",
            Side::Consumer => "consumer",
        }
    }

    /// What the side it waits for is called.
    fn peer(self) -> &'static str {
        match self {
            Side::Reader => "writer",
            Side::Consumer => "producer",
        }
    }

    /// The command that runs the waiting side.
    fn command(self) -> &'static str {
        match self {
            Side::Reader => "shm_read",
            Side::Consumer => "shm_read --stream",
        }
    }
}

/// The words of one waiting side's diagnosis, in the place it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Diagnosis {
    side: Side,
    place: Place,
}

impl Diagnosis {
    /// The diagnosis of `side`, running in `place`.
    pub fn new(side: Side, place: Place) -> Self {
        Self { side, place }
    }

    /// What is wrong when no segment answers, in one sentence, then (when
    /// the cause may be another IPC namespace) the one fix that fits where
    /// this process runs, on a second line.
    pub fn absent(&self, a: &Absent) -> String {
        let (me, peer) = (self.side.me(), self.side.peer());
        let key_text = a
            .key
            .map_or_else(|| format!("the {peer}'s key"), |k| format!("key {k}"));
        let (here, key_file) = (a.own_ns, a.key_file.display());
        let wrong = match &a.why {
            Absence::NoKeyFile => format!(
                "key file {key_file} does not exist in this {me}'s /dev/shm (IPC namespace {here}): no {peer} has started yet, or it runs in another IPC namespace, with its own /dev/shm"
            ),
            Absence::NoBeacon => format!(
                "no segment with {key_text} in this IPC namespace ({here}), though key file {key_file} exists (without a shm_write beacon): the {peer} has not created its segment yet, or it runs in another IPC namespace that shares this /dev/shm"
            ),
            Absence::BeaconUnreadable => format!(
                "no segment with {key_text} in this IPC namespace ({here}); key file {key_file} exists, but this user may not read the {peer}'s beacon in it (a {peer} started with --mode 0644 lets other users read it): the {peer} has not created its segment yet, has stopped, or runs in another IPC namespace that shares this /dev/shm"
            ),
            Absence::OtherNamespace(beacon) => format!(
                "no segment with {key_text} in this IPC namespace ({here}): key file {key_file} says {peer} pid {} publishes to {} in IPC namespace {}, which is not this {me}'s: the /dev/shm is shared, the IPC namespace is not",
                beacon.pid, beacon.key, beacon.ipc_ns
            ),
            Absence::WriterStopped(beacon) => {
                return format!(
                    "no segment with {key_text}: {peer} pid {} (IPC namespace {}) stopped cleanly; waiting for a new {peer}{}",
                    beacon.pid,
                    beacon.ipc_ns,
                    self.restarted()
                )
            }
            Absence::WriterFailed(beacon) => {
                return format!(
                    "no segment with {key_text}: {peer} pid {} (IPC namespace {}) stopped on an error (its stderr says which) and removed its segment; waiting for a new {peer}{}",
                    beacon.pid,
                    beacon.ipc_ns,
                    self.restarted()
                )
            }
            Absence::WriterGone(beacon) => {
                return format!(
                    "no segment with {key_text}: {peer} pid {} in this IPC namespace ({here}) left no segment (killed, or the segment was removed with ipcrm); waiting for a new {peer}{}",
                    beacon.pid,
                    self.restarted()
                )
            }
        };
        format!("{wrong}{}", self.fix_line(Some(&a.key_file)))
    }

    /// The second line of a diagnosis of another IPC namespace: the one
    /// fix that fits this place (`key_file`: the writer's, when it has
    /// one).
    pub fn fix_line(&self, key_file: Option<&Path>) -> String {
        format!("\n  fix: {} ({MORE}, for more)", self.fix(key_file))
    }

    /// The one way into the writer's IPC namespace that fits this place.
    fn fix(&self, key_file: Option<&Path>) -> String {
        let (me, peer, command) = (self.side.me(), self.side.peer(), self.side.command());
        match self.place {
            Place::Docker => format!(
                "start this {me}'s container with `docker run --ipc container:<{peer} container> ...`, and the {peer}'s with `--ipc shareable`"
            ),
            Place::Podman => format!(
                "start this {me}'s container with `podman run --ipc container:<{peer} container> ...`"
            ),
            Place::Kubernetes => format!(
                "run this {me} as a container of the {peer}'s pod: the containers of one pod share its IPC namespace"
            ),
            Place::Host => {
                let key_file = key_file.map_or_else(String::new, |path| {
                    let through = if path.is_absolute() { "root" } else { "cwd/" };
                    format!(" --key-file /proc/<{peer} pid>/{through}{}", path.display())
                });
                format!(
                    "run this {me} in the {peer}'s IPC namespace: `nsenter --ipc=/proc/<{peer} pid>/ns/ipc {command}{key_file}`, <{peer} pid> being the {peer}'s pid as this shell sees it, as `pgrep shm_write` shows"
                )
            }
        }
    }

    /// A stopped or gone writer in a container: it may have been restarted
    /// into a namespace this reader never sees.
    fn restarted(&self) -> String {
        let (me, peer) = (self.side.me(), self.side.peer());
        match self.place {
            Place::Docker | Place::Podman => format!(
                "; if the {peer}'s container was restarted, this {me} must be restarted too ({MORE}, for how)"
            ),
            Place::Kubernetes | Place::Host => String::new(),
        }
    }

    /// Every way to put the two sides in one IPC namespace, whatever the
    /// place (`--explain`): more lines, after the diagnosis.
    pub fn explanation(&self) -> String {
        let (me, peer, command) = (self.side.me(), self.side.peer(), self.side.command());
        let peer_start = match self.side {
            Side::Reader => "shm_write",
            Side::Consumer => "shm_write --stream",
        };
        [
            format!("  why: a {me} finds its {peer}'s segment only in the {peer}'s IPC namespace, and its key file only in the {peer}'s /dev/shm; a container has its own of both unless it joins another's. Every way to join them:"),
            format!("    Docker: start the {peer} with `docker run --ipc shareable ...` and this {me} with `docker run --ipc container:<{peer} container> ...` (Docker shares the {peer}'s /dev/shm with it)"),
            format!("    Podman: `podman run --ipc container:<{peer} container> ...` (Podman's containers are shareable by default), or both in one pod (`podman run --pod <pod> ...`)"),
            format!("    Compose: `ipc: shareable` on the {peer}'s service, `ipc: \"service:<{peer}>\"` on this {me}'s"),
            "    Kubernetes: both as containers of one pod, which share its IPC namespace and /dev/shm".to_owned(),
            format!("    `--ipc host` for both containers: the host's IPC namespace and /dev/shm, where every process on the host sees the segment and a killed {peer} leaves it until `ipcrm`"),
            format!("    a host shell: `nsenter --ipc=/proc/<{peer} pid>/ns/ipc {command} --key-file /proc/<{peer} pid>/root/dev/shm/shm_file`, with the {peer}'s pid as the host sees it (`pgrep shm_write`, or `docker inspect -f '{{{{.State.Pid}}}}' <{peer} container>`), or `docker exec <{peer} container> {command}`"),
            format!("    a {peer} container that was restarted has a new IPC namespace, which a {me} joined to the old one never sees: restart this {me} too (`docker run --restart on-failure` with `{command} --timeout` does it), or join both to a long-lived container that only holds the namespace (`--ipc shareable`, running `sleep`), as a pod does"),
            format!("    no {peer} yet: start `{peer_start}` with the same --key-file and --proj-id, before or after this {me}"),
            "    more: docs/troubleshooting.md, docs/containers.md".to_owned(),
        ]
        .join("\n")
    }

    /// The waiting side gives up after `limit`: with the last condition
    /// seen, or, when `message` is `None`, pointing at it (already said).
    pub fn gave_up(&self, limit: Duration, message: Option<&str>) -> String {
        let for_what = match self.side {
            Side::Reader => "a live writer",
            Side::Consumer => "a producer",
        };
        let head = if limit.is_zero() {
            format!("no {}", for_what.trim_start_matches("a "))
        } else {
            format!("timed out after {limit:?} waiting for {for_what}")
        };
        match message {
            Some(message) => format!("{head}: {message}"),
            None => format!("{head} (the reason is above)"),
        }
    }
}

/// A reader's segment has not changed for longer than its writer promised.
pub fn stale(segment: &SegmentInfo, age: Duration) -> String {
    format!(
        "segment {} (shmid {}): no update for {:.1}s, {} process(es) attached: the writer was killed, frozen or is gone; waiting for it to resume or for a new writer",
        segment.key,
        segment.id,
        age.as_secs_f64(),
        segment.nattch
    )
}

/// A reader's segment holds a time ahead of the reader's clock.
pub fn future(segment: &SegmentInfo, ahead: Duration) -> String {
    format!(
        "segment {} (shmid {}): the time it holds is {:.1}s ahead of this clock, which no live writer publishes (a forged or torn text, or a clock set back); waiting for a plausible time",
        segment.key,
        segment.id,
        ahead.as_secs_f64()
    )
}

/// The writer said it stopped.
pub fn writer_stopped(pid: u32, segment: &SegmentInfo) -> String {
    format!(
        "writer pid {pid} of segment {} (shmid {}) stopped cleanly; waiting for a new writer",
        segment.key, segment.id
    )
}

/// The segment holds nothing this reader can read.
pub fn unreadable(segment: &SegmentInfo, error: &dyn std::fmt::Display) -> String {
    format!("segment {} (shmid {}): {error}", segment.key, segment.id)
}

/// A reader that reported a problem reads again.
pub fn resumed(segment: &SegmentInfo) -> String {
    format!(
        "shm_read: reading segment {} (shmid {}) from a live writer",
        segment.key, segment.id
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::session::beacon::{Beacon, BeaconState};
    use crate::transport::key::Key;
    use crate::transport::namespace::Ns;

    const PLACES: [Place; 4] = [Place::Host, Place::Docker, Place::Podman, Place::Kubernetes];

    fn beacon(state: BeaconState) -> Beacon {
        Beacon {
            pid: 1,
            ipc_ns: Ns(7),
            key: Key(0x0828_0002),
            shmid: 0,
            started: chrono::DateTime::UNIX_EPOCH,
            state,
        }
    }

    fn absent(why: Absence) -> Absent {
        Absent {
            key_file: PathBuf::from("/dev/shm/shm_file"),
            key: Some(Key(0x0828_0002)),
            own_ns: Ns(9),
            why,
        }
    }

    /// Every absence that may be another IPC namespace.
    fn elsewhere() -> [Absence; 4] {
        [
            Absence::NoKeyFile,
            Absence::NoBeacon,
            Absence::BeaconUnreadable,
            Absence::OtherNamespace(beacon(BeaconState::Running)),
        ]
    }

    #[test]
    fn another_namespace_is_one_sentence_then_the_fix_of_the_place() {
        for why in elsewhere() {
            for place in PLACES {
                let text = Diagnosis::new(Side::Reader, place).absent(&absent(why.clone()));
                let lines: Vec<&str> = text.lines().collect();
                assert_eq!(lines.len(), 2, "{text}");
                assert!(lines[0].contains("ipc:[9]"), "{text}");
                assert!(lines[1].starts_with("  fix: "), "{text}");
                assert!(lines[1].ends_with(&format!("({MORE}, for more)")), "{text}");
                let fix = lines[1];
                let engine_fix = |engine: &str| {
                    fix.contains(&format!(
                        "`{engine} run --ipc container:<writer container> ...`"
                    ))
                };
                match place {
                    Place::Host => {
                        assert!(fix.contains("`nsenter --ipc=/proc/<writer pid>/ns/ipc shm_read --key-file /proc/<writer pid>/root/dev/shm/shm_file`"), "{text}");
                    }
                    Place::Docker => assert!(
                        engine_fix("docker") && fix.contains("--ipc shareable"),
                        "{text}"
                    ),
                    Place::Podman => assert!(engine_fix("podman"), "{text}"),
                    Place::Kubernetes => assert!(fix.contains("pod"), "{text}"),
                }
                for other in [
                    "docker",
                    "podman",
                    "Compose",
                    "Kubernetes",
                    "--ipc host",
                    "nsenter",
                ] {
                    let ours = match place {
                        Place::Host => "nsenter",
                        Place::Docker => "docker",
                        Place::Podman => "podman",
                        Place::Kubernetes => "Kubernetes",
                    };
                    if other != ours {
                        assert!(!text.contains(other), "{place:?} names {other}: {text}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_consumer_waits_for_a_producer() {
        for why in elsewhere() {
            for place in PLACES {
                let text = Diagnosis::new(Side::Consumer, place).absent(&absent(why.clone()));
                assert!(!text.contains("writer"), "{text}");
                assert!(text.contains("producer"), "{text}");
                assert!(
                    text.contains("consumer") || matches!(why, Absence::NoBeacon),
                    "{text}"
                );
            }
        }
        let text = Diagnosis::new(Side::Consumer, Place::Host).explanation();
        assert!(!text.contains("<writer"), "{text}");
        assert!(text.contains("shm_read --stream --key-file"), "{text}");
    }

    #[test]
    fn a_stopped_writer_in_a_container_may_have_been_restarted() {
        for why in [
            Absence::WriterStopped(beacon(BeaconState::Stopped)),
            Absence::WriterFailed(beacon(BeaconState::Failed)),
            Absence::WriterGone(beacon(BeaconState::Running)),
        ] {
            for place in PLACES {
                let text = Diagnosis::new(Side::Reader, place).absent(&absent(why.clone()));
                assert_eq!(text.lines().count(), 1, "{text}");
                assert!(text.contains("writer pid 1"), "{text}");
                let hint = text.contains("container was restarted");
                assert_eq!(
                    hint,
                    matches!(place, Place::Docker | Place::Podman),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn the_explanation_has_every_fix() {
        for place in PLACES {
            let text = Diagnosis::new(Side::Reader, place).explanation();
            for fix in [
                "`docker run --ipc shareable ...`",
                "`docker run --ipc container:<writer container> ...`",
                "`podman run --ipc container:<writer container> ...`",
                "`ipc: \"service:<writer>\"`",
                "one pod",
                "`--ipc host`",
                "nsenter --ipc=/proc/<writer pid>/ns/ipc",
                "restart this reader too",
                "docs/troubleshooting.md",
            ] {
                assert!(text.contains(fix), "{fix}: {text}");
            }
        }
    }

    #[test]
    fn giving_up_points_at_what_was_said() {
        let reader = Diagnosis::new(Side::Reader, Place::Host);
        let limit = Duration::from_secs(2);
        assert_eq!(
            reader.gave_up(limit, None),
            "timed out after 2s waiting for a live writer (the reason is above)"
        );
        assert_eq!(
            reader.gave_up(Duration::ZERO, Some("why")),
            "no live writer: why"
        );
        let consumer = Diagnosis::new(Side::Consumer, Place::Host);
        assert_eq!(
            consumer.gave_up(limit, Some("why")),
            "timed out after 2s waiting for a producer: why"
        );
    }
}
