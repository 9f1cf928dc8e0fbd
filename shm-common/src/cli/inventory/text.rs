//! The text listing: `ipcs`-shaped blocks, one per kind, each orphan
//! followed by the line that removes it.

use std::fmt::Write as _;

use super::{age_secs, ipcrm, status, summary, Object, NO_PROCESS};
use crate::cli::messages::mqueue as queue_text;
use crate::session::inventory::{Inventory, ShmFileRow, Unlisted};
use crate::transport::key::Key;
use crate::transport::mqueue::{QueueEntry, TableError};
use crate::transport::posix_shm::SHM_DIR;
use crate::transport::procs::{printable, Attached};
use crate::transport::users::Users;

/// `--list`'s heading for this process's own namespace.
pub fn heading_here(inv: &Inventory) -> String {
    format!(
        "IPC namespace {}: {} segment(s)",
        inv.target.ns,
        inv.segments.len()
    )
}

/// Everything `inv` holds under `heading` (one line, supplied by the
/// caller): segments, message queues, semaphore sets, POSIX message
/// queues, then the files of `/dev/shm`, set apart.
pub fn text(inv: &Inventory, heading: &str, users: &Users) -> String {
    let mut out = format!("{heading}\n");
    segments(&mut out, inv, users);
    messages(&mut out, inv, users);
    semaphores(&mut out, inv, users);
    out += &posix_queues(&inv.posix_messages, users);
    out += &posix_shm(&inv.posix_shm, users);
    out
}

/// The heading of the columns every kind starts with (`ipcs`'s), the id
/// named `id`.
fn head(id: &str) -> String {
    format!("{:<10} {:<10} {:<10} {:<10}", "key", id, "owner", "perms")
}

/// The columns every kind starts with: key, id, owner, perms.
fn ident(key: Key, id: i32, uid: u32, mode: u16, users: &Users) -> String {
    format!(
        "{:<10} {:<10} {:<10} {:<10o}",
        key.to_string(),
        id,
        users.name(uid),
        mode
    )
}

fn segments(out: &mut String, inv: &Inventory, users: &Users) {
    let _ = writeln!(
        out,
        "{} {:<10} {:<10} {:<10}  holds",
        head("shmid"),
        "bytes",
        "nattch",
        "status"
    );
    for row in &inv.segments {
        let e = &row.entry;
        let _ = writeln!(
            out,
            "{} {:<10} {:<10} {:<10}  {}",
            ident(e.key, e.shmid, e.uid, e.mode, users),
            e.size,
            e.nattch,
            status(e).join(" "),
            summary(row.holds.as_ref())
        );
        if !row.attached.is_empty() {
            let _ = writeln!(out, "{:<10} attached: {}", "", processes(&row.attached));
        }
        if row.orphan {
            let what = format!("{} bytes", e.size);
            let remove = ipcrm(&inv.target, Object::Segment, e.shmid);
            orphan(out, &what, e.more.ctime, &remove);
        }
    }
}

fn messages(out: &mut String, inv: &Inventory, users: &Users) {
    let _ = writeln!(out, "\nSystem V message queues: {}", inv.messages.len());
    if inv.messages.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{} {:<10} {:<10} {:<10} lrpid",
        head("msqid"),
        "used-bytes",
        "messages",
        "lspid"
    );
    for row in &inv.messages {
        let e = &row.entry;
        let _ = writeln!(
            out,
            "{} {:<10} {:<10} {:<10} {}",
            ident(e.key, e.msqid, e.uid, e.mode, users),
            e.cbytes,
            e.qnum,
            e.lspid,
            e.lrpid
        );
        if row.orphan {
            let what = format!("{} bytes", e.cbytes);
            orphan(
                out,
                &what,
                e.ctime,
                &ipcrm(&inv.target, Object::Queue, e.msqid),
            );
        }
    }
}

fn semaphores(out: &mut String, inv: &Inventory, users: &Users) {
    let _ = writeln!(out, "\nSystem V semaphore sets: {}", inv.semaphores.len());
    if inv.semaphores.is_empty() {
        return;
    }
    let _ = writeln!(out, "{} nsems", head("semid"));
    for row in &inv.semaphores {
        let e = &row.entry;
        let _ = writeln!(
            out,
            "{} {}",
            ident(e.key, e.semid, e.uid, e.mode, users),
            e.nsems
        );
        if row.orphan {
            let what = format!("{} semaphore(s)", e.nsems);
            let remove = ipcrm(&inv.target, Object::Semaphores, e.semid);
            orphan(out, &what, e.ctime, &remove);
        }
    }
}

/// The line under a leaked object: what it holds, its age, and the
/// command that removes it (never run here).
fn orphan(out: &mut String, what: &str, ctime: i64, remove: &str) {
    let _ = writeln!(
        out,
        "{:<10} orphan: {what}, made {} ago, creator gone, unused; remove with: {remove}",
        "",
        duration(age_secs(ctime))
    );
}

/// The POSIX message queues' block: its rows, or one line saying why none.
fn posix_queues(queues: &Result<Vec<QueueEntry>, Unlisted<TableError>>, users: &Users) -> String {
    let queues = match queues {
        Ok(queues) if !queues.is_empty() => queues,
        Ok(_) => return format!("\n{}\n", queue_text::no_queues()),
        Err(e) => return format!("\n{}\n", unlisted_queues(e)),
    };
    let mut out = format!("\n{}\n", queue_text::queues_heading(queues.len()));
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
            printable(q.name.as_str()),
            users.name(q.owner.uid),
            q.owner.mode,
            q.qsize,
            messages,
            msgsize,
            queue_text::notify_text(q.notify)
        );
    }
    out
}

/// Why no POSIX message queue is listed.
fn unlisted_queues(e: &Unlisted<TableError>) -> String {
    match e {
        Unlisted::NoProcess => format!("POSIX message queues: not listed: {NO_PROCESS}"),
        Unlisted::Failed(TableError::NotMounted) => queue_text::not_mounted(),
        Unlisted::Failed(TableError::OtherNamespace) => queue_text::foreign_mount(),
        Unlisted::Failed(TableError::Io(e)) => queue_text::unreadable_mount(e),
    }
}

/// The files of `/dev/shm`, said to belong to the mount.
fn posix_shm(files: &Result<Vec<ShmFileRow>, Unlisted<std::io::Error>>, users: &Users) -> String {
    let files = match files {
        Ok(files) => files,
        Err(Unlisted::NoProcess) => {
            return format!("\nPOSIX shared memory ({SHM_DIR}): not listed: {NO_PROCESS}\n")
        }
        Err(Unlisted::Failed(e)) => {
            return format!("\nPOSIX shared memory: cannot read {SHM_DIR}: {e}\n")
        }
    };
    let mut out = format!(
        "\nPOSIX shared memory, files of {SHM_DIR} (they belong to that mount, not to the IPC namespace): {}\n",
        files.len()
    );
    if files.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "{:<20} {:<10} {:<10} {:<10} {:<10}  mapped by",
        "name", "owner", "perms", "bytes", "resident"
    );
    for row in files {
        let f = &row.file;
        let _ = writeln!(
            out,
            "{:<20} {:<10} {:<10o} {:<10} {:<10}  {}",
            printable(&f.name),
            users.name(f.uid),
            f.mode,
            f.size,
            f.resident,
            if row.mapped.is_empty() {
                "-".to_owned()
            } else {
                processes(&row.mapped)
            }
        );
    }
    out
}

/// `pid 12 writer (container 0123456789ab), pid 13 reader`.
fn processes(procs: &[Attached]) -> String {
    let named: Vec<String> = procs
        .iter()
        .map(|a| match &a.container {
            Some(c) => format!("pid {} {} (container {c})", a.pid, a.command),
            None => format!("pid {} {}", a.pid, a.command),
        })
        .collect();
    named.join(", ")
}

/// A duration for a person: `45s`, `3m 2s`, `2h 5m`, `3d 4h`.
fn duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {}s", secs / 60, secs % 60),
        3600..86400 => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {}h", secs / 86400, secs % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(182), "3m 2s");
        assert_eq!(duration(7500), "2h 5m");
        assert_eq!(duration(4 * 86400 + 3 * 3600 + 5), "4d 3h");
    }
}
