//! `--list --all-namespaces`: every IPC namespace of the machine, entered
//! in turn on a fresh thread (`transport::census::within`), each with its
//! objects, named by what runs in it, with its processes; a namespace
//! whose objects no process holds is a finding of its own.

use std::fmt::Write as _;

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::inventory;
use shm_common::cli::messages::namespaces as words;
use shm_common::session::inventory::{collect, Inventory, Target};
use shm_common::transport::census::{within, Census, IpcNamespace, Privilege, Via, HOST_IPC};
use shm_common::transport::namespace::{self, Ns};
use shm_common::transport::place::Place;
use shm_common::transport::procs::printable;
use shm_common::transport::root::Root;
use shm_common::transport::users::Users;

use serde_json::{json, Value};

use crate::ns_names::{self, Container, Names};
use crate::output::Format;
use crate::Failure;

/// How many processes a text heading names before it counts the rest.
const SHOWN_PROCESSES: usize = 8;

/// One namespace's block.
struct Block {
    ns: IpcNamespace,
    containers: Vec<Container>,
    /// What it holds, or why it could not be entered.
    inventory: Result<Inventory, String>,
}

/// List every namespace.
pub fn run(format: Format) -> Result<Exit, Failure> {
    let have = Privilege::here();
    if !have.suffices() {
        return Err((
            Exit::Permission,
            words::all_namespaces_refused(have, Place::here()),
        ));
    }
    let census = Census::take().map_err(|e| (Exit::Failure, words::no_census(&e)))?;
    let own = namespace::ipc_namespace().ok();
    let mut names = Names::new();
    let blocks: Vec<Block> = census
        .namespaces
        .into_iter()
        .map(|ns| Block {
            containers: names.containers(&ns),
            inventory: inventory(&ns, own, &census.unreadable),
            ns,
        })
        .collect();
    let users = Users::load();
    let text = match format {
        Format::Json => json(&blocks, &census.unreadable, &users),
        _ => text(&blocks, &census.unreadable, have.sys_ptrace, &users),
    };
    console::print(&text)?;
    Ok(Exit::Ok)
}

/// What namespace `ns` holds, collected on a thread that entered it;
/// `own` is this process's namespace, whose objects need no `nsenter`;
/// `unreadable` the processes whose namespace could not be read, which may
/// be its own (their objects' creators are then unknown, never gone).
fn inventory(ns: &IpcNamespace, own: Option<u64>, unreadable: &[u32]) -> Result<Inventory, String> {
    let entered = within(ns, |via| {
        let (root, file) = match via {
            Via::Process(pid) => (Some(Root::of_process(*pid)), via.file()),
            Via::Mount(path) => (None, path.clone()),
        };
        let target = Target {
            ns: Ns(ns.inode),
            root,
            enter_via: (own != Some(ns.inode)).then_some(file),
        };
        let members = ns.members.iter().map(|m| m.pid);
        collect(&target, members.chain(unreadable.iter().copied()))
    });
    let ns = Ns(ns.inode).to_string();
    match entered {
        Ok(Ok(inventory)) => Ok(inventory),
        Ok(Err(e)) => Err(words::not_listed(&ns, &e)),
        Err(e) => Err(words::not_listed(&ns, &e)),
    }
}

/// How many objects of the namespace itself an inventory holds (the
/// files of a `/dev/shm` belong to a mount, not to it).
fn objects(inventory: &Inventory) -> usize {
    inventory.segments.len()
        + inventory.messages.len()
        + inventory.semaphores.len()
        + inventory.posix_messages.as_ref().map_or(0, Vec::len)
}

/// The finding of a namespace whose objects no process holds, if it is one.
fn finding(block: &Block) -> Option<String> {
    let objects = block.inventory.as_ref().map_or(0, objects);
    let infra = ns_names::keeper(&block.ns)?;
    let mounts: Vec<&std::path::Path> = block.ns.mounts.iter().map(|m| m.as_path()).collect();
    (objects > 0)
        .then(|| words::orphan_namespace(objects, (!infra.is_empty()).then_some(infra), &mounts))
}

fn text(blocks: &[Block], unreadable: &[u32], ptrace: bool, users: &Users) -> String {
    let mut out = String::new();
    for block in blocks {
        let ns = Ns(block.ns.inode).to_string();
        let labels = ns_names::labels(&block.ns, &block.containers);
        let mut heading = words::namespace_heading(&ns, &labels, block.ns.members.len());
        let processes: Vec<(u32, &str)> = block
            .ns
            .members
            .iter()
            .map(|m| (m.pid, m.command.as_str()))
            .collect();
        if !processes.is_empty() {
            heading = format!(
                "{heading}\n{}",
                words::processes_line(&processes, SHOWN_PROCESSES)
            );
        }
        match &block.inventory {
            Ok(inv) => out += &inventory::text(inv, &heading, users),
            Err(why) => {
                let _ = writeln!(out, "{heading}\n{why}");
            }
        }
        if let Some(finding) = finding(block) {
            let _ = writeln!(out, "{finding}");
        }
        out.push('\n');
    }
    if !unreadable.is_empty() {
        let _ = writeln!(out, "{}", words::unreadable_processes(unreadable, ptrace));
    }
    out
}

/// `{"namespaces": [...], "unreadable_pids": [...]}`: each namespace the
/// inventory's object, its `"namespace"` extended with what names it.
fn json(blocks: &[Block], unreadable: &[u32], users: &Users) -> String {
    let namespaces: Vec<Value> = blocks
        .iter()
        .map(|block| {
            let mut value = match &block.inventory {
                Ok(inv) => inventory::json(inv, users),
                Err(why) => json!({
                    "namespace": {"ipc": Ns(block.ns.inode).to_string(), "inode": block.ns.inode},
                    "error": why,
                }),
            };
            let described = json!({
                "host": block.ns.inode == HOST_IPC,
                "labels": ns_names::labels(&block.ns, &block.containers),
                "containers": block.containers.iter().map(container_json).collect::<Vec<_>>(),
                "processes": block.ns.members.iter().map(|m| json!({
                    "pid": m.pid,
                    "command": m.command,
                    "container": m.origin.as_ref().map(|o| o.id.clone()),
                })).collect::<Vec<_>>(),
                "bind_mounts": block.ns.mounts.iter().map(|m| printable(&m.to_string_lossy())).collect::<Vec<_>>(),
                "finding": finding(block),
            });
            if let (Some(namespace), Value::Object(more)) =
                (value.get_mut("namespace").and_then(Value::as_object_mut), described)
            {
                namespace.extend(more);
            }
            value
        })
        .collect();
    format!(
        "{}\n",
        json!({"namespaces": namespaces, "unreadable_pids": unreadable})
    )
}

fn container_json(c: &Container) -> Value {
    json!({
        "engine": c.origin.engine.name(),
        "id": c.origin.id,
        "name": c.name.as_deref().map(printable),
        "pod": c.pod.as_ref().map(|pod| json!({
            "uid": c.origin.pod_uid,
            "name": pod.name.as_deref().map(printable),
            "namespace": pod.namespace.as_deref().map(printable),
        })),
    })
}
