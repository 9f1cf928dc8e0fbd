//! `shm_read --list --all-namespaces` against real IPC namespaces made with
//! `unshare`: each listed with its objects and its processes, attachments
//! matched within a namespace only, a namespace kept by a bind mount alone
//! reported, and the refusal without privilege. The machine running the
//! tests has IPC namespaces of its own (other tests' sandboxes, containers):
//! every check looks for the namespaces the test made, by the inode of its
//! processes' `/proc/<pid>/ns/ipc`, never at the whole list.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use serde_json::Value;
use shm_tests::namespaces::{list_all, listing, namespace};
use shm_tests::{bin, c_program, poll_until, require_root, Proc, Sandbox, DEADLINE};

/// The pids a namespace object lists as its processes.
fn pids(ns: &Value) -> Vec<u64> {
    ns["namespace"]["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pid"].as_u64().unwrap())
        .collect()
}

/// A shell snippet run in `sandbox`, which must succeed.
fn sh_ok(sandbox: &Sandbox, script: &str) {
    let out = sandbox.sh(script);
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn five_namespaces_are_listed_with_their_objects_and_processes() {
    let sandboxes: Vec<Sandbox> = (0..5).map(|_| Sandbox::new()).collect();
    for (i, sandbox) in sandboxes.iter().enumerate() {
        sh_ok(
            sandbox,
            &format!(
                "for n in $(seq {}); do ipcmk -M 4096; done && ipcmk -Q && ipcmk -S 2",
                i + 1
            ),
        );
    }
    let writer = sandboxes[0].writer(&[]);
    let attached = |doc: &Value| {
        let ns = namespace(doc, sandboxes[0].ipc_ns())?;
        ns["sharedmemory"]
            .as_array()?
            .iter()
            .any(|s| {
                s["attached"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["pid"] == writer.pid())
            })
            .then_some(())
    };
    let doc = poll_until(DEADLINE, || {
        let doc = listing();
        attached(&doc).map(|_| doc)
    })
    .expect("the writer's segment listed with the writer attached");
    for (i, sandbox) in sandboxes.iter().enumerate() {
        let ns = namespace(&doc, sandbox.ipc_ns())
            .unwrap_or_else(|| panic!("sandbox {i}'s namespace is not listed"));
        let writer_segment = usize::from(i == 0);
        assert_eq!(
            ns["sharedmemory"].as_array().unwrap().len(),
            i + 1 + writer_segment
        );
        assert_eq!(ns["messages"].as_array().unwrap().len(), 1);
        assert_eq!(ns["semaphores"].as_array().unwrap()[0]["nsems"], 2);
        assert!(pids(ns).contains(&u64::from(sandbox.pid())), "{ns}");
        assert_eq!(ns["namespace"]["host"], false);
        assert_eq!(ns["namespace"]["finding"], Value::Null);
        assert_eq!(
            ns["namespace"]["enter"],
            format!("nsenter --ipc=/proc/{}/ns/ipc", pids(ns)[0])
        );
    }
    assert!(
        pids(namespace(&doc, sandboxes[0].ipc_ns()).unwrap()).contains(&u64::from(writer.pid()))
    );

    let out = list_all(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    for sandbox in &sandboxes {
        let heading = format!("IPC namespace ipc:[{}]: no container;", sandbox.ipc_ns());
        let at = text
            .find(&heading)
            .unwrap_or_else(|| panic!("no {heading:?} in {text}"));
        let processes = text[at..].lines().nth(1).unwrap();
        assert!(
            processes.contains(&format!("pid {} sleep", sandbox.pid())),
            "{processes}"
        );
    }
}

#[test]
fn a_process_of_another_namespace_with_the_same_shmid_is_not_attached() {
    let dir = tempdir("same-shmid");
    let key_file = dir.join("key");
    let key_file = key_file.to_str().unwrap();
    let (a, b) = (Sandbox::new(), Sandbox::new());
    let writer = a.writer(&["--key-file", key_file]);
    writer.wait_stderr("shmid");
    // The same key and shmid 0 in b, created and left by a program that
    // exits: nobody there is attached.
    let plant = b
        .command(c_program("shm_plant"))
        .args(["put", key_file, "4096", "0600"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        plant.status.success(),
        "{}",
        String::from_utf8_lossy(&plant.stderr)
    );
    let doc = listing();
    let segment = |sandbox: &Sandbox| {
        let ns = namespace(&doc, sandbox.ipc_ns()).expect("the sandbox's namespace is listed");
        ns["sharedmemory"].as_array().unwrap()[0].clone()
    };
    let (in_a, in_b) = (segment(&a), segment(&b));
    assert_eq!((&in_a["id"], &in_a["key"]), (&in_b["id"], &in_b["key"]));
    let attached_pids = |s: &Value| -> Vec<Value> {
        s["attached"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pid"].clone())
            .collect()
    };
    assert_eq!(attached_pids(&in_a), vec![Value::from(writer.pid())]);
    assert_eq!(attached_pids(&in_b), Vec::<Value>::new());
    assert_eq!(in_b["orphan"], true);
    let ipcrm = in_b["ipcrm"]
        .as_str()
        .expect("an ipcrm line for the orphan");
    assert_eq!(
        ipcrm,
        format!("nsenter --ipc=/proc/{}/ns/ipc ipcrm -m 0", b.pid())
    );

    // The line removes b's segment, and only b's.
    let out = Command::new("sh").args(["-c", ipcrm]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(b.segments().is_empty());
    assert_eq!(a.segments().len(), 1);
    drop(writer);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_namespace_kept_only_by_a_bind_mount_is_a_finding() {
    require_root();
    let dir = tempdir("bound");
    let file = dir.join("ipc ns");
    // In a mount namespace of its own, so the bind mount (and with it the
    // IPC namespace and its segment) goes when the shell ends. The shell
    // lists, then runs the line it is given back and counts the segments
    // left in the bound namespace.
    let script = format!(
        "touch \"$1\" && unshare --ipc=\"$1\" true && nsenter --ipc=\"$1\" ipcmk -M 4096 >/dev/null && \
         stat -L -c %i \"$1\" && {} --list --all-namespaces --format json && \
         read -r line && eval \"$line\" && nsenter --ipc=\"$1\" tail -n +2 /proc/sysvipc/shm | wc -l",
        bin("shm_read").display()
    );
    let mut shell = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            &script,
            "sh",
        ])
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(shell.stdout.take().unwrap());
    let (mut inode, mut json) = (String::new(), String::new());
    stdout.read_line(&mut inode).unwrap();
    stdout.read_line(&mut json).unwrap();
    let doc: Value = serde_json::from_str(&json).expect("the listing");
    let ns = namespace(&doc, inode.trim().parse().unwrap()).expect("the bound namespace is listed");
    assert_eq!(ns["namespace"]["processes"], Value::Array(vec![]));
    assert_eq!(ns["namespace"]["bind_mounts"][0], file.to_str().unwrap());
    let quoted = format!("'--ipc={}'", file.display());
    assert_eq!(ns["namespace"]["enter"], format!("nsenter {quoted}"));
    // No process to see its /dev/shm and /dev/mqueue through: not listed.
    assert_eq!(ns["posix-sharedmemory"], Value::Null);
    assert!(ns["posix-sharedmemory-unavailable"].is_string());
    let finding = ns["namespace"]["finding"].as_str().expect("a finding");
    assert!(finding.contains("1 object(s) but no process"), "{finding}");
    assert!(
        finding.contains(&format!("umount '{}'", file.display())),
        "{finding}"
    );
    let segments = ns["sharedmemory"].as_array().unwrap();
    assert_eq!(segments.len(), 1);
    let ipcrm = segments[0]["ipcrm"]
        .as_str()
        .expect("an orphan's ipcrm line");
    assert_eq!(ipcrm, format!("nsenter {quoted} ipcrm -m 0"));

    // Its line, followed, removes it from the bound namespace.
    let mut stdin = shell.stdin.take().unwrap();
    writeln!(stdin, "{ipcrm}").unwrap();
    drop(stdin);
    let mut left = String::new();
    stdout.read_to_string(&mut left).unwrap();
    assert!(shell.wait().unwrap().success());
    assert_eq!(left.trim(), "0");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Run `shm_read --list --all-namespaces` through `cmd` (the wrapper that
/// takes a privilege away); its stderr, after checking that it was refused
/// with exit 4 and nothing on stdout.
fn refused(cmd: &mut Command) -> String {
    let out = cmd
        .arg(bin("shm_read"))
        .args(["--list", "--all-namespaces"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(out.stdout.is_empty());
    stderr
}

#[test]
fn without_privilege_it_names_what_is_missing_and_the_fix() {
    let sandbox = Sandbox::new();
    let as_nobody = ["--reuid=65534", "--regid=65534", "--clear-groups", "--"];
    let stderr = refused(sandbox.command("setpriv").args(as_nobody));
    assert!(
        stderr.contains("this process lacks root, CAP_SYS_ADMIN"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sudo shm_read --list --all-namespaces"),
        "{stderr}"
    );

    let no_cap = ["--inh-caps=-sys_admin", "--bounding-set=-sys_admin", "--"];
    let stderr = refused(sandbox.command("setpriv").args(no_cap));
    assert!(
        stderr.contains("this process lacks CAP_SYS_ADMIN"),
        "{stderr}"
    );

    let own_pids = ["--pid", "--fork", "--mount-proc", "--"];
    let stderr = refused(sandbox.command("unshare").args(own_pids));
    assert!(
        stderr.contains("this process lacks the host's PID namespace"),
        "{stderr}"
    );

    // The fix, followed: root with CAP_SYS_ADMIN in the host's PID namespace.
    let root = sandbox
        .command(bin("shm_read"))
        .args(["--list", "--all-namespaces", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        root.status.success(),
        "{}",
        String::from_utf8_lossy(&root.stderr)
    );
    let doc: Value = serde_json::from_slice(&root.stdout).unwrap();
    assert!(namespace(&doc, sandbox.ipc_ns()).is_some());
}

/// A fresh directory under the system's temporary directory.
fn tempdir(what: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("shm-all-ns-{}-{what}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Cgroup directories made for a test and the process moved into the
/// last: on drop the process is killed, then the directories removed
/// (deepest first).
struct Cgroups(Vec<std::path::PathBuf>, Option<std::process::Child>);

impl Drop for Cgroups {
    fn drop(&mut self) {
        if let Some(child) = &mut self.1 {
            let _ = child.kill();
            let _ = child.wait();
        }
        for dir in self.0.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[test]
fn a_kubernetes_pods_namespace_is_named_by_its_pod() {
    require_root();
    // A process as the kubelet leaves one: in a pod's cgroup
    // (`kubepods/besteffort/pod<uid>/<container id>`), with the pod's name
    // as HOSTNAME and its service account's namespace file mounted.
    let uid = format!("5e1f0c2a-0000-4abc-8def-{:012x}", std::process::id());
    let id = format!("{:064x}", u64::from(std::process::id()) << 20);
    let base = std::path::PathBuf::from("/sys/fs/cgroup/pids/kubepods");
    let dirs = vec![
        base.clone(),
        base.join("besteffort"),
        base.join(format!("besteffort/pod{uid}")),
        base.join(format!("besteffort/pod{uid}/{id}")),
    ];
    for dir in &dirs {
        let _ = std::fs::create_dir(dir);
    }
    let mut cgroups = Cgroups(dirs, None);
    let script =
        "mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io/serviceaccount && \
                  echo shop > /run/secrets/kubernetes.io/serviceaccount/namespace && \
                  ipcmk -M 4096 >/dev/null && echo ready && exec sleep 100000";
    let mut pod = Command::new("unshare")
        .args([
            "--ipc",
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            script,
        ])
        .env("HOSTNAME", "web-7f9c")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = pod.stdout.take().unwrap();
    let pid = pod.id();
    cgroups.1 = Some(pod);
    let mut ready = String::new();
    BufReader::new(stdout).read_line(&mut ready).unwrap();
    assert_eq!(ready.trim(), "ready");
    let procs = cgroups.0.last().unwrap().join("cgroup.procs");
    std::fs::write(&procs, pid.to_string()).unwrap();

    let doc = listing();
    let inode = shm_tests::namespaces::ipc_inode(pid);
    let ns = namespace(&doc, inode).expect("the pod's namespace is listed");
    let container = &ns["namespace"]["containers"][0];
    assert_eq!(container["engine"], "kubernetes");
    assert_eq!(container["id"], id.as_str());
    assert_eq!(container["pod"]["uid"], uid.as_str());
    assert_eq!(container["pod"]["name"], "web-7f9c");
    assert_eq!(container["pod"]["namespace"], "shop");
    let label = format!("pod shop/web-7f9c (uid {uid})");
    assert_eq!(ns["namespace"]["labels"][0], label.as_str());
    let text = String::from_utf8_lossy(&list_all(&[]).stdout).into_owned();
    let heading = format!("IPC namespace ipc:[{inode}]: {label}; 1 process(es)");
    assert!(
        text.lines().any(|l| l == heading),
        "no {heading:?} in {text}"
    );

    drop(cgroups);
}

#[test]
fn processes_it_may_not_read_are_named_with_what_would_let_it() {
    let sandbox = Sandbox::new();
    let nobody = Proc::spawn(sandbox.command_as(65534, 65534, "sleep").arg("100000"));
    let pid = nobody.pid();
    // nsenter's child is the sleep: wait until it runs as nobody.
    poll_until(DEADLINE, || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status.contains("Uid:\t65534").then_some(())
    })
    .expect("the sleep runs as nobody");
    let unreadable = |doc: &Value| -> Vec<u64> {
        doc["unreadable_pids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_u64().unwrap())
            .collect()
    };
    // Root without CAP_SYS_PTRACE may not read the /proc files of another
    // user's processes (nor of those with more capabilities).
    let without = |more: &[&str]| {
        Command::new("setpriv")
            .args(["--inh-caps=-sys_ptrace", "--bounding-set=-sys_ptrace", "--"])
            .arg(bin("shm_read"))
            .args(["--list", "--all-namespaces"])
            .args(more)
            .output()
            .unwrap()
    };
    let json = without(&["--format", "json"]);
    assert!(json.status.success(), "{json:?}");
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(
        unreadable(&doc).contains(&u64::from(pid)),
        "{:?}",
        unreadable(&doc)
    );
    let text = String::from_utf8_lossy(&without(&[]).stdout).into_owned();
    let note = text
        .lines()
        .find(|l| l.starts_with("note: the IPC namespace of"))
        .expect("a note on the processes it could not read");
    assert!(note.contains("add CAP_SYS_PTRACE"), "{note}");
    // With it, that process is read and its namespace listed.
    let doc = listing();
    assert!(!unreadable(&doc).contains(&u64::from(pid)));
    let ns = namespace(&doc, sandbox.ipc_ns()).expect("the sandbox's namespace is listed");
    assert!(ns["namespace"]["processes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["pid"] == pid));
    drop(nobody);
}
