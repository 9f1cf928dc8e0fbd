//! `ipcbench namespaces`: `shm_read --list --all-namespaces` over many IPC
//! namespaces (made here with `unshare --ipc`, each holding System V
//! segments, message queues and semaphore sets, kept alive by a sleeping
//! process) against the shell recipes that list the same namespaces: find
//! one process per namespace in `/proc`, then `nsenter --ipc ... ipcs -a`,
//! or `lsipc` once per kind, in each.

#[allow(unused_imports)]
use super::*;

/// The shell recipe's discovery: one `/proc/<pid>/ns/ipc` per namespace.
const DISCOVER: &str =
    "find /proc/[0-9]*/ns/ipc -maxdepth 0 -printf '%l %p\\n' 2>/dev/null | sort -u -k1,1";

pub(crate) fn namespaces(opts: &Opts) -> Result<()> {
    let bin = opts
        .path("bin-dir")
        .ok_or("namespaces needs --bin-dir")?
        .join("shm_read");
    let count = opts.num("namespaces", 200.0) as usize;
    let per = opts.num("objects", 10.0) as usize;
    let runs = opts.num("runs", 5.0) as usize;
    let (segments, queues) = (per - per * 3 / 10 * 2, per * 3 / 10);
    let holders = start_holders(count, segments, queues)?;
    let inodes: Vec<String> = holders
        .iter()
        .map(|h| std::fs::read_link(format!("/proc/{}/ns/ipc", h.0.id())))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| format!("read a holder's namespace: {e}"))?
        .into_iter()
        .map(|l| l.to_string_lossy().into_owned())
        .collect();
    let json =
        run_once(Command::new(&bin).args(["--list", "--all-namespaces", "--format", "json"]))?;
    let listed = inodes
        .iter()
        .filter(|i| json.contains(&format!("\"{i}\"")))
        .count();
    if listed != count {
        return Err(format!(
            "shm_read listed {listed} of the {count} namespaces made here"
        ));
    }
    let total = run_once(Command::new("sh").args(["-c", &format!("{DISCOVER} | wc -l")]))?;
    let cases: [(&str, Command); 4] = [
        ("shm_read --list --all-namespaces --format json", {
            let mut c = Command::new(&bin);
            c.args(["--list", "--all-namespaces", "--format", "json"]);
            c
        }),
        ("shm_read --list --all-namespaces", {
            let mut c = Command::new(&bin);
            c.args(["--list", "--all-namespaces"]);
            c
        }),
        (
            "shell: nsenter --ipc=... ipcs -a per namespace",
            shell("ipcs -a"),
        ),
        (
            "shell: nsenter --ipc=... lsipc -m, -q, -s per namespace",
            shell("sh -c 'lsipc -m; lsipc -q; lsipc -s'"),
        ),
    ];
    println!("### Listing every IPC namespace\n");
    println!(
        "{count} namespaces made here, each with {segments} segments, {queues} message queues and {queues} semaphore sets ({} objects), {} namespaces on the machine in all; median of {runs} runs, wall time.\n",
        count * per,
        total.trim()
    );
    println!("| command | median | min | max |");
    println!("|---|---|---|---|");
    for (name, mut cmd) in cases {
        let mut times: Vec<Duration> = (0..runs)
            .map(|_| {
                let start = Instant::now();
                run_once(&mut cmd)?;
                Ok(start.elapsed())
            })
            .collect::<Result<_>>()?;
        times.sort();
        println!(
            "| {name} | {:.3} s | {:.3} s | {:.3} s |",
            times[times.len() / 2].as_secs_f64(),
            times[0].as_secs_f64(),
            times[times.len() - 1].as_secs_f64()
        );
    }
    println!();
    drop(holders);
    Ok(())
}

/// The shell recipe: discover, then `nsenter` each namespace to run `tool`.
fn shell(tool: &str) -> Command {
    let mut c = Command::new("sh");
    c.args([
        "-c",
        &format!("{DISCOVER} | while read -r ns f; do nsenter --ipc=\"$f\" {tool}; done"),
    ]);
    c
}

/// Run `cmd` to its end; its stdout, or an error with its stderr.
fn run_once(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `count` processes, each in an IPC namespace of its own made by
/// `unshare --ipc`, holding `segments` segments and `queues` message
/// queues and semaphore sets, sleeping until killed (on drop): the
/// namespace and its objects go with the last process in it.
fn start_holders(count: usize, segments: usize, queues: usize) -> Result<Vec<Guard>> {
    let script = format!(
        "for i in $(seq {segments}); do ipcmk -M 4096; done >/dev/null && \
         for i in $(seq {queues}); do ipcmk -Q && ipcmk -S 1; done >/dev/null && \
         echo ready && exec sleep 3600"
    );
    let mut holders = Vec::with_capacity(count);
    for _ in 0..count {
        let mut child = Command::new("unshare")
            .args(["--ipc", "--", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("unshare --ipc: {e}"))?;
        let mut ready = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut ready)
            .map_err(|e| format!("a holder's stdout: {e}"))?;
        let guard = Guard(child);
        if ready.trim() != "ready" {
            return Err("a holder failed to create its objects (ipcmk)".into());
        }
        holders.push(guard);
    }
    Ok(holders)
}
