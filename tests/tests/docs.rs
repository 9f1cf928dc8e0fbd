//! Every ```` ```console ```` example of README.md and docs/*.md, run for
//! real, so that the docs cannot drift from the tools.
//!
//! A block that runs here runs in a fresh [`Sandbox`] (its own IPC
//! namespace and `/dev/shm`) in one bash, command by command: the `$ `
//! lines are sent to the shell as they are written (background jobs,
//! `kill %1`, pipes, `echo $?` and all), with `shm_write` and `shm_read`
//! on PATH (the static binaries the other tests use) and the C originals
//! as `./shm_write` and `./shm_read` in the working directory (a temporary
//! one). What each command prints, stdout and stderr together, is compared
//! with the lines the doc shows after it (see `shm_tests::doc_examples`).
//! A command ending in `&` is given until the lines shown after it are out
//! before the next one starts; at the end of a block the shell waits for
//! its background jobs, and what they print then belongs to the last
//! command. A block that needs containers must name the container test
//! that runs it (`<!-- checked by tests/tests/FILE.rs::TEST -->`), and that
//! test must exist. No block is skipped.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use shm_tests::doc_examples::{all_blocks, compare, doc_files, normalize, test_exists, Block};
use shm_tests::{bin, c_program, poll_until, Sandbox, TempDir, DEADLINE};

/// Starts the shell's own lines in the combined output: never in a doc.
const MARK: &str = "\u{1f}doc-test";

/// How long a foreground command may run.
const COMMAND_DEADLINE: Duration = Duration::from_secs(60);

/// How long output shown after a command that already returned may take
/// to arrive (a background job's line).
const LATE_OUTPUT: Duration = Duration::from_secs(5);

/// The directives a block may carry.
const DIRECTIVES: &[&str] = &["checked by ", "setup:", "interrupted:"];

/// One bash in a sandbox, fed commands on stdin, its stdout and stderr in
/// one pipe, collected line by line.
struct Shell {
    child: Child,
    stdin: ChildStdin,
    lines: Arc<Mutex<Vec<String>>>,
    /// First line not yet given to a command.
    cursor: usize,
}

impl Shell {
    fn start(sandbox: &Sandbox, work: &Path, bin_dir: &Path) -> Self {
        let (read, write) = nix::unistd::pipe().expect("pipe");
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into())
        );
        let mut child = sandbox
            .command("bash")
            .args(["--norc", "--noprofile"])
            .env("PATH", path)
            .env("LC_ALL", "C")
            .current_dir(work)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(write.try_clone().unwrap()))
            .stderr(Stdio::from(write))
            .spawn()
            .expect("run bash in the sandbox");
        let stdin = child.stdin.take().unwrap();
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(std::fs::File::from(read));
            let mut buf = Vec::new();
            while reader.read_until(b'\n', &mut buf).unwrap_or(0) > 0 {
                let line = String::from_utf8_lossy(&buf);
                sink.lock()
                    .unwrap()
                    .push(line.trim_end_matches('\n').to_owned());
                buf.clear();
            }
        });
        let mut shell = Self {
            child,
            stdin,
            lines,
            cursor: 0,
        };
        // nsenter's setns into the mount namespace moved bash to `/`.
        shell.send(&format!("__rc=0; cd '{}'\n", work.display()));
        shell
    }

    fn send(&mut self, text: &str) {
        self.stdin
            .write_all(text.as_bytes())
            .expect("write to bash");
        self.stdin.flush().unwrap();
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The output lines from the cursor on, without the shell's markers.
    fn pending(&self) -> Vec<String> {
        self.lines()[self.cursor..]
            .iter()
            .filter(|l| !l.starts_with(MARK))
            .cloned()
            .collect()
    }

    /// Wait until `marker` comes after the cursor.
    fn wait_marker(&self, marker: &str, deadline: Duration) -> bool {
        let line = format!("{MARK} {marker}");
        poll_until(deadline, || {
            self.lines()[self.cursor..].contains(&line).then_some(())
        })
        .is_some()
    }

    /// Wait until `n` lines came after the cursor (or `deadline` passes).
    fn wait_pending(&self, n: usize, deadline: Duration) {
        poll_until(deadline, || (self.pending().len() >= n).then_some(()));
    }

    /// Send one command, as the doc writes it, keeping `$?` from the
    /// previous one and stdin away from the shell's own.
    fn command(&mut self, command: &str) {
        self.send(&format!(
            "(exit $__rc); {{ {command}\n}} </dev/null; __rc=$?; printf '\\037doc-test done\\n'\n"
        ));
    }

    /// The output from the cursor on; the cursor moves past it.
    fn take(&mut self) -> Vec<String> {
        let taken = self.pending();
        self.cursor = self.lines().len();
        taken
    }

    /// The shell's child processes.
    fn children(&self) -> Vec<i32> {
        let pid = self.child.id();
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect()
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        // bash and everything it started, background jobs included.
        let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// A temporary directory with `bin/` and `work/`, removed when dropped.
fn block_dir(what: &str) -> TempDir {
    let dir = TempDir::new(&format!("docs-{what}"));
    std::fs::create_dir_all(dir.0.join("bin")).unwrap();
    std::fs::create_dir_all(dir.0.join("work")).unwrap();
    dir
}

/// Run a block in a fresh sandbox; what differs from the doc.
fn run_block(block: &Block) -> Result<(), String> {
    let dir = block_dir(&block.line.to_string());
    let (bin_dir, work) = (dir.0.join("bin"), dir.0.join("work"));
    for name in ["shm_write", "shm_read"] {
        std::os::unix::fs::symlink(bin(name), bin_dir.join(name)).unwrap();
        if block
            .steps
            .iter()
            .any(|s| s.command.contains(&format!("./{name}")))
        {
            std::fs::copy(c_program(name), work.join(name)).unwrap();
        }
    }
    let sandbox = Sandbox::new();
    let mut shell = Shell::start(&sandbox, &work, &bin_dir);
    let here = |line: usize| format!("{}:{line}", block.file);

    for setup in block.directive("setup") {
        shell.command(&setup);
        if !shell.wait_marker("done", COMMAND_DEADLINE) {
            return Err(format!("{}: setup `{setup}` did not finish", block.place()));
        }
        let printed = shell.take();
        if !printed.is_empty() {
            return Err(format!(
                "{}: setup `{setup}` printed {printed:?}",
                block.place()
            ));
        }
    }

    let interrupted = block.directive("interrupted");
    let mut printed: Vec<Vec<String>> = Vec::new();
    for step in &block.steps {
        let background = step
            .command
            .split(" #")
            .next()
            .unwrap()
            .trim()
            .ends_with('&');
        if interrupted.iter().any(|c| c == step.command.trim()) {
            let before = shell.children();
            shell.command(&step.command);
            shell.wait_pending(step.expected.len(), DEADLINE);
            let started: Vec<i32> = shell
                .children()
                .into_iter()
                .filter(|p| !before.contains(p))
                .collect();
            let [pid] = started[..] else {
                return Err(format!(
                    "{}: `{}` should still run, to be interrupted; new processes {started:?}, printed {:?}",
                    here(step.line),
                    step.command,
                    shell.pending()
                ));
            };
            kill(Pid::from_raw(pid), Signal::SIGINT).unwrap();
        } else {
            shell.command(&step.command);
        }
        if !shell.wait_marker("done", COMMAND_DEADLINE) {
            return Err(format!(
                "{}: `{}` still runs after {COMMAND_DEADLINE:?}; printed {:?}",
                here(step.line),
                step.command,
                shell.pending()
            ));
        }
        let late = if background { DEADLINE } else { LATE_OUTPUT };
        shell.wait_pending(step.expected.len(), late);
        printed.push(shell.take());
    }
    // The background jobs end; what they print now is the last command's.
    shell.send("wait; printf '\\037doc-test end\\n'\n");
    if !shell.wait_marker("end", DEADLINE) {
        return Err(format!(
            "{}: a background job still runs at the end of the block (a doc example must stop what it starts); printed {:?}",
            block.place(),
            shell.pending()
        ));
    }
    if let Some(last) = printed.last_mut() {
        last.extend(shell.take());
    }

    let mut errors = Vec::new();
    for (step, got) in block.steps.iter().zip(&printed) {
        if let Err(e) = compare(&step.expected, got) {
            errors.push(format!("{}: `$ {}`: {e}", here(step.line), step.command));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

/// What is wrong with a block's directives, before it runs.
fn check_directives(block: &Block) -> Result<(), String> {
    for d in &block.directives {
        if !DIRECTIVES.iter().any(|p| d.starts_with(p)) {
            return Err(format!(
                "{}: unknown directive `<!-- {d} -->` (known: {DIRECTIVES:?})",
                block.place()
            ));
        }
    }
    for command in block.directive("interrupted") {
        if !block.steps.iter().any(|s| s.command.trim() == command) {
            return Err(format!(
                "{}: `interrupted: {command}` names no command of the block",
                block.place()
            ));
        }
    }
    Ok(())
}

#[test]
fn every_console_example_runs_or_names_the_container_test_that_runs_it() {
    let blocks = all_blocks();
    let mut failures = Vec::new();
    let mut ran = Vec::new();
    let mut delegated: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for block in &blocks {
        if let Err(e) = check_directives(block) {
            failures.push(e);
            continue;
        }
        match (block.needs_containers(), block.checker()) {
            (true, Some((file, test))) => {
                if test_exists(&file, &test) {
                    delegated
                        .entry(format!("{file}::{test}"))
                        .or_default()
                        .push(block.place());
                } else {
                    failures.push(format!(
                        "{}: `checked by {file}::{test}`: there is no #[test] fn {test} in {file}",
                        block.place()
                    ));
                }
            }
            (true, None) => failures.push(format!(
                "{}: the block runs containers and names no test that runs it: put \
                 `<!-- checked by tests/tests/FILE.rs::TEST -->` above it",
                block.place()
            )),
            (false, Some(_)) => failures.push(format!(
                "{}: the block runs here without containers: it needs no `checked by`",
                block.place()
            )),
            (false, None) => match run_block(block) {
                Ok(()) => ran.push(block.place()),
                Err(e) => failures.push(e),
            },
        }
    }
    eprintln!("ran {} blocks here: {ran:?}", ran.len());
    for (test, places) in &delegated {
        eprintln!("{test} checks {places:?}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} console blocks fail:\n\n{}",
        failures.len(),
        blocks.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_console_fence_is_found() {
    // The parser misses no block: count the fences as plain text.
    for file in doc_files() {
        let text = std::fs::read_to_string(shm_tests::workspace().join(&file)).unwrap();
        let fences = text.lines().filter(|l| l.trim() == "```console").count();
        let parsed = shm_tests::doc_examples::blocks(&file).len();
        assert_eq!(parsed, fences, "{file}");
    }
    assert!(all_blocks().len() >= 10);
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

#[test]
fn variable_parts_match_in_their_places_only() {
    let doc = lines(
        "shm_write: key 0x08000002 shmid 0 size 4096 mode 0600 key-file /dev/shm/shm_file ipc-ns ipc:[4026531839] pid 4242: segment created\n\
         now time: 1795381884\n\
         0x08000002 0          root       600        4096       1\n\
         {\"published\":\"2026-11-23T23:51:42.785723095Z\",\"writer_pid\":24985,\"age_ms\":303.047,\"skipped\":0,\"key\":\"0x08280002\",\"shmid\":0}\n\
         real    0m0.104s\n\
                    orphan: 4096 bytes, made 3s ago, creator gone, unused; remove with: ipcrm -m 0\n\
         shm_file             root       600        97         4096        -",
    );
    let run = lines(
        "shm_write: key 0x082c0002 shmid 32768 size 4096 mode 0600 key-file /dev/shm/shm_file ipc-ns ipc:[4026532179] pid 17: segment created\n\
         now time: 1796409364\n\
         0x082c0002 32768      root       600        4096       1                       \n\
         {\"published\":\"2026-12-04T18:36:05.9Z\",\"writer_pid\":4134,\"age_ms\":3,\"skipped\":0,\"key\":\"0x082c0002\",\"shmid\":1}\n\
         real\t0m1.5s\n\
                    orphan: 4096 bytes, made 0s ago, creator gone, unused; remove with: ipcrm -m 32768\n\
         shm_file             root       600        104        4096        -",
    );
    compare(&doc, &run).unwrap();
}

#[test]
fn drift_outside_the_variable_parts_fails() {
    let startup = "shm_write: key 0x08280002 shmid 0 size 4096 mode 0600 key-file /dev/shm/shm_file ipc-ns ipc:[4026532179] pid 14712: segment created";
    // The stream default size: the drift docs/streams.md had.
    let err = compare(
        &lines(startup),
        &lines(&startup.replace("size 4096", "size 262144")),
    )
    .unwrap_err();
    assert!(err.contains("size 262144"), "{err}");
    // A key is a key: not any word, not a longer hex number.
    assert!(compare(&lines("key 0x08280002"), &lines("key 0x0828000200000000")).is_err());
    assert!(compare(&lines("key 0x08280002"), &lines("key none")).is_err());
    // A number is variable only where it is listed: a count, a size, an exit status.
    assert!(compare(&lines("\"count\":1"), &lines("\"count\":2")).is_err());
    assert!(compare(&lines("255"), &lines("0")).is_err());
    assert!(compare(&lines("now time: 1795381884"), &lines("now time: ")).is_err());
    // A field missing from a JSON line (containers.md's step 3 lacked `skipped`).
    assert!(compare(
        &lines("{\"age_ms\":635.798,\"source\":\"header\"}"),
        &lines("{\"age_ms\":1.5,\"source\":\"header\",\"skipped\":0}")
    )
    .is_err());
    // A line too many, or too few.
    assert!(compare(
        &lines("a"),
        &lines("a\nshm_write: SIGTERM received: stopping")
    )
    .is_err());
    assert!(compare(&lines("a\nb"), &lines("a")).is_err());
    // Only trailing blanks are forgiven.
    assert_eq!(normalize("status      "), "status");
    assert_ne!(normalize(" status"), normalize("status"));
}

#[test]
fn inspect_rows_keep_their_constant_fields() {
    let doc = "   192..200  sequence               0x0000000000000008  8 (4 publishes)";
    let run = "   192..200  sequence               0x0000000000000006  6 (3 publishes)";
    compare(&lines(doc), &lines(run)).unwrap();
    let doc = "   128..136  magic                  0x00454d49544d4853  \"SHMTIME\\0\"";
    let run = "   128..136  magic                  0x00454d49544d4854  \"SHMTIME\\0\"";
    assert!(compare(&lines(doc), &lines(run)).is_err());
}

#[test]
fn checked_by_names_written_and_on_engine_tests_only() {
    // A #[test] written in the file.
    assert!(test_exists(
        "tests/tests/containers.rs",
        "default_private_ipc_refuses_the_join"
    ));
    // A test on_engine! makes from a body in tests/tests/both/, on either engine.
    for file in ["tests/tests/containers.rs", "tests/tests/podman.rs"] {
        assert!(test_exists(file, "stop_is_quick_and_clean"), "{file}");
        assert!(
            test_exists(file, "reader_joins_a_shareable_writer"),
            "{file}"
        );
    }
    // Misspelled, renamed away, or a helper of both/ that is no test.
    let c = "tests/tests/containers.rs";
    assert!(!test_exists(c, "stop_is_quick_and_clear"));
    assert!(!test_exists(c, "docker_stop_is_quick_and_clean"));
    assert!(!test_exists(c, "wait_advancing"));
    assert!(!test_exists(c, "as_documented"));
    assert!(!test_exists(
        "tests/tests/podman.rs",
        "walkthrough_with_podman"
    ));
    // A file without on_engine! does not get the shared tests.
    assert!(!test_exists(
        "tests/tests/docs.rs",
        "stop_is_quick_and_clean"
    ));
    assert!(!test_exists(
        "tests/tests/nosuch.rs",
        "stop_is_quick_and_clean"
    ));
}
