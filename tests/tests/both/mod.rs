//! The container tests that run on both engines, written once against
//! [`Engine`]: `on_engine!(<engine>)` makes a `#[test]` of each body below
//! for the engine of the file that calls it (`containers.rs`: Docker,
//! `podman.rs`: a private Podman per test). Also the helpers both files use.

use std::time::{Duration, Instant};

use shm_tests::doc_examples::{compare, shown};
use shm_tests::engine::{stdout_of, Container, Engine, IpcsRow, Kind};
use shm_tests::{poll_until, DEADLINE};

mod messages;
mod minimal;
mod users;
mod walkthrough;

pub use messages::*;
pub use minimal::*;
pub use users::*;
pub use walkthrough::*;

pub const WRITER: &str = "/bin/shm_write";
pub const READER: &str = "/bin/shm_read";

/// One `#[test]` per shared test body, each run on a fresh `$engine`.
macro_rules! on_engine {
    ($engine:expr) => {
        on_engine!(@tests $engine;
            static_binaries_run_in_an_image_without_libc,
            the_minimal_image_runs_the_writer_the_reader_and_the_listing,
            a_value_crosses_from_a_writer_container_to_a_joined_reader,
            the_producer_consumer_walkthrough_with_a_stream,
            reader_joins_a_shareable_writer,
            ipc_container_mode_shares_dev_shm,
            reader_without_ipc_explains_and_creates_nothing,
            stop_is_quick_and_clean,
            both_as_nobody_share_a_segment_owned_by_nobody,
            reader_as_nobody_is_refused_a_root_writers_segment,
            writer_mode_0666_lets_nobody_read,
            pod_like_sandbox_keeps_the_namespace_across_writer_restarts,
        );
    };
    (@tests $engine:expr; $($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                both::$name(&$engine);
            }
        )*
    };
}

/// Compare what a command printed in a container of `engine` with what the
/// console example checked by `test` shows after `command`
/// (docs/containers.md, whose examples run Docker). Used on both engines
/// where what the tools print does not depend on the engine: the command
/// names the doc's step, whichever client ran it.
pub fn as_documented(engine: &dyn Engine, test: &str, command: &str, printed: &[String]) {
    compare(&shown(test, command), printed).unwrap_or_else(|e| {
        panic!(
            "docs/containers.md, `$ {command}` (run on {}): {e}",
            engine.name()
        )
    });
}

/// The seconds of `now time: ...` lines, in the `c` format (the seconds) or
/// `rfc3339` (cut to the second); either compares in time order as text.
pub fn seconds(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("now time: "))
        .map(|t| t.get(..19).unwrap_or(t).to_owned())
        .collect()
}

/// The seconds of `now time: <secs>` lines (the `c` format).
pub fn times(lines: &[String]) -> Vec<i64> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("now time: "))
        .map(|t| t.parse().unwrap_or_else(|_| panic!("bad reading {t:?}")))
        .collect()
}

/// Wait until the container printed readings whose seconds advance: the
/// first within [`DEADLINE`] (container start-up on a busy machine), an
/// advancing one soon after it (Docker: 3 s, Podman: 5 s). The readings, to
/// the second.
pub fn wait_advancing(container: &Container<'_>) -> Vec<String> {
    let within = match container.engine().kind() {
        Kind::Docker => Duration::from_secs(3),
        Kind::Podman => Duration::from_secs(5),
    };
    container.wait_stdout(DEADLINE, "a first reading", |l| !seconds(l).is_empty());
    let first = Instant::now();
    let lines = container.wait_stdout(
        within,
        &format!("a reading advanced past the first within {within:?}"),
        |l| {
            let s = seconds(l);
            s.len() >= 2 && s.last() > s.first()
        },
    );
    let readings = seconds(&lines);
    eprintln!(
        "{}: readings advanced {:.2} s after the first: {readings:?}",
        container.name,
        first.elapsed().as_secs_f64()
    );
    assert!(
        readings.windows(2).all(|w| w[0] <= w[1]),
        "readings go backwards: {readings:?}"
    );
    readings
}

/// Wait until both containers list the same single segment, attached by
/// both; that row.
pub fn one_segment_both_attached(a: &Container<'_>, b: &Container<'_>) -> IpcsRow {
    poll_until(DEADLINE, || {
        let (x, y) = (a.ipcs(), b.ipcs());
        (x.len() == 1 && x == y && x[0].nattch == 2).then(|| x[0].clone())
    })
    .unwrap_or_else(|| panic!("ipcs -m differs: {:?} vs {:?}", a.ipcs(), b.ipcs()))
}

/// `ls -n <args...>` in the container, split into fields: mode, links,
/// uid, gid, ... (with `-i`, the inode first).
pub fn ls_n(container: &Container<'_>, args: &[&str]) -> Vec<String> {
    let mut command = vec!["ls", "-n"];
    command.extend_from_slice(args);
    let out = container.exec(&command);
    assert!(
        out.status.success(),
        "{command:?} in {}: {out:?}",
        container.name
    );
    stdout_of(&out)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Start a writer container of `image` and wait for its startup line; the
/// container and that line.
pub fn start_writer<'e>(
    engine: &'e impl Engine,
    image: &str,
    options: &[&str],
    command: &[&str],
) -> (Container<'e>, String) {
    let writer = engine.run_container("writer", options, image, command);
    let line = writer.wait_stderr("segment created");
    (writer, line)
}
