//! `--list`: every System V segment of this IPC namespace, with the columns
//! of `ipcs -m`, what each holds, and who is attached. Read-only: segments
//! are attached `SHM_RDONLY` for a moment to look, never written.

use std::fmt::Write as _;

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::messages;
use shm_common::protocol::clock::Timestamp;
use shm_common::protocol::describe::{describe, Holds};
use shm_common::transport::mqueue::{self, Attributes, QueueEntry, TableError};
use shm_common::transport::namespace::{self, Ns};
use shm_common::transport::procs::{self, Attached};
use shm_common::transport::segment::{OpenError, Segment};
use shm_common::transport::table::TableEntry;
pub use shm_common::transport::users::Users;

use crate::output::{json_string, Format};
use crate::Failure;

/// One listed segment.
pub struct Row {
    pub entry: TableEntry,
    /// What it holds; `None` when this user may not read it.
    pub holds: Option<Holds>,
    pub attached: Vec<Attached>,
}

/// List the segments.
pub fn run(format: Format) -> Result<Exit, Failure> {
    let ns = Ns(namespace::ipc_namespace().unwrap_or(0));
    let entries = TableEntry::all().map_err(|e| (Exit::Failure, messages::no_table(&e)))?;
    let procs = procs::Procs::scan(ns.0, procs::all_pids());
    let rows: Vec<Row> = entries
        .into_iter()
        .map(|entry| Row {
            holds: look(&entry),
            attached: procs.attached(entry.shmid, entry.key),
            entry,
        })
        .collect();
    let users = Users::load();
    let queues = mqueue::table();
    let text = match format {
        Format::Json => json(ns, &rows, &users, &queues),
        _ => table(ns, &rows, &users) + &queue_table(&queues, &users),
    };
    console::print(&text)?;
    Ok(Exit::Ok)
}

/// Attach read-only for a look; `None` when permission is refused.
pub fn look(entry: &TableEntry) -> Option<Holds> {
    match Segment::attach(entry.key, entry.shmid, true) {
        Ok(segment) => Some(describe(segment.view(), entry.more.swap)),
        Err(OpenError::PermissionDenied { .. }) => None,
        Err(e) => Some(Holds::Unknown(e.to_string())),
    }
}

/// The `ipcs -m` status column.
pub fn status(entry: &TableEntry) -> Vec<&'static str> {
    let mut status = Vec::new();
    if entry.more.dest {
        status.push("dest");
    }
    if entry.more.locked {
        status.push("locked");
    }
    status
}

/// A machine name for what a segment holds.
pub fn kind(holds: Option<&Holds>) -> &'static str {
    holds.map_or("unreadable", Holds::machine_name)
}

/// The phrase for what a segment holds.
pub fn summary(holds: Option<&Holds>) -> String {
    holds.map_or_else(
        || "no read permission for this user".to_owned(),
        |h| h.summary(Timestamp::now()),
    )
}

/// The segments' table under a heading naming namespace `ns`.
pub fn table(ns: Ns, rows: &[Row], users: &Users) -> String {
    let mut out = format!("IPC namespace {ns}: {} segment(s)\n", rows.len());
    let _ = writeln!(
        out,
        "{:<10} {:<10} {:<10} {:<10} {:<10} {:<10} {:<10}  holds",
        "key", "shmid", "owner", "perms", "bytes", "nattch", "status"
    );
    for row in rows {
        let e = &row.entry;
        let _ = writeln!(
            out,
            "{:<10} {:<10} {:<10} {:<10o} {:<10} {:<10} {:<10}  {}",
            e.key.to_string(),
            e.shmid,
            users.name(e.uid),
            e.mode,
            e.size,
            e.nattch,
            status(e).join(" "),
            summary(row.holds.as_ref())
        );
        if !row.attached.is_empty() {
            let procs: Vec<String> = row
                .attached
                .iter()
                .map(|a| match &a.container {
                    Some(c) => format!("pid {} {} (container {c})", a.pid, a.command),
                    None => format!("pid {} {}", a.pid, a.command),
                })
                .collect();
            let _ = writeln!(out, "{:<10} attached: {}", "", procs.join(", "));
        }
    }
    out
}

/// The message queues' section: its rows, or one line saying why none.
fn queue_table(queues: &Result<Vec<QueueEntry>, TableError>, users: &Users) -> String {
    let queues = match queues {
        Ok(queues) if queues.is_empty() => return format!("\n{}\n", messages::mqueue::no_queues()),
        Ok(queues) => queues,
        Err(TableError::NotMounted) => return format!("\n{}\n", messages::mqueue::not_mounted()),
        Err(TableError::OtherNamespace) => {
            return format!("\n{}\n", messages::mqueue::foreign_mount())
        }
        Err(TableError::Io(e)) => return format!("\n{}\n", messages::mqueue::unreadable_mount(e)),
    };
    let mut out = format!("\n{}\n", messages::mqueue::queues_heading(queues.len()));
    let _ = writeln!(
        out,
        "{:<20} {:<10} {:<10} {:<10} {:<10} {:<10}  notify",
        "name", "owner", "perms", "QSIZE", "messages", "msgsize"
    );
    for q in queues {
        let (messages, msgsize) = q.attributes.map_or_else(
            || ("?".to_owned(), "?".to_owned()),
            |a| (format!("{}/{}", a.curmsgs, a.maxmsg), a.msgsize.to_string()),
        );
        let _ = writeln!(
            out,
            "{:<20} {:<10} {:<10o} {:<10} {:<10} {:<10}  {}",
            q.name.as_str(),
            users.name(q.owner.uid),
            q.owner.mode,
            q.qsize,
            messages,
            msgsize,
            messages::mqueue::notify_text(q.notify)
        );
    }
    out
}

fn queues_json(queues: &Result<Vec<QueueEntry>, TableError>, users: &Users) -> String {
    let Ok(queues) = queues else {
        return "null".to_owned();
    };
    let rows: Vec<String> = queues
        .iter()
        .map(|q| {
            let attr = |f: fn(&Attributes) -> i64| {
                q.attributes
                    .as_ref()
                    .map_or("null".to_owned(), |a| f(a).to_string())
            };
            format!(
                "{{\"name\":{},\"owner\":{},\"uid\":{},\"gid\":{},\"perms\":\"{:o}\",\"qsize\":{},\"messages\":{},\"maxmsg\":{},\"msgsize\":{},\"notify\":{{\"how\":{},\"signo\":{},\"pid\":{}}}}}",
                json_string(q.name.as_str()),
                json_string(&users.name(q.owner.uid)),
                q.owner.uid,
                q.owner.gid,
                q.owner.mode,
                q.qsize,
                attr(|a| a.curmsgs),
                attr(|a| a.maxmsg),
                attr(|a| a.msgsize),
                q.notify.how,
                q.notify.signo,
                q.notify.pid
            )
        })
        .collect();
    format!("[{}]", rows.join(","))
}

fn json(
    ns: Ns,
    rows: &[Row],
    users: &Users,
    queues: &Result<Vec<QueueEntry>, TableError>,
) -> String {
    format!(
        "{{\"ipc_ns\":\"{ns}\",\"segments\":{},\"mqueues\":{}}}\n",
        segments_json(rows, users),
        queues_json(queues, users)
    )
}

/// The segments as a JSON array.
pub fn segments_json(rows: &[Row], users: &Users) -> String {
    let segments: Vec<String> = rows
        .iter()
        .map(|row| {
            let e = &row.entry;
            let attached: Vec<String> = row
                .attached
                .iter()
                .map(|a| {
                    format!(
                        "{{\"pid\":{},\"command\":{},\"container\":{}}}",
                        a.pid,
                        json_string(&a.command),
                        a.container.as_deref().map_or("null".into(), json_string)
                    )
                })
                .collect();
            let status: Vec<String> = status(e).iter().map(|s| json_string(s)).collect();
            format!(
                "{{\"key\":\"{}\",\"shmid\":{},\"owner\":{},\"uid\":{},\"perms\":\"{:o}\",\"bytes\":{},\"nattch\":{},\"status\":[{}],\"kind\":\"{}\",\"holds\":{},\"attached\":[{}]}}",
                e.key,
                e.shmid,
                json_string(&users.name(e.uid)),
                e.uid,
                e.mode,
                e.size,
                e.nattch,
                status.join(","),
                kind(row.holds.as_ref()),
                json_string(&summary(row.holds.as_ref())),
                attached.join(",")
            )
        })
        .collect();
    format!("[{}]", segments.join(","))
}
