//! The JSON listing: `lsipc --json`'s table names (`sharedmemory`,
//! `messages`, `semaphores`, `posix-messages`) and its lower-cased column
//! names, so scripts written for `lsipc` port over, beside our own fields
//! (`holds`, `attached`, `creator`, `orphan`, `ipcrm`). Numbers are JSON
//! numbers, times Unix seconds (`null` for never, where `lsipc` prints
//! nothing), permissions octal text as `lsipc --numeric-perms` prints them.

use serde_json::{json, Value};

use super::{age_secs, creator_word, enter, ipcrm, kind, status, summary, Object, NO_PROCESS};
use crate::session::inventory::{
    Creator, Inventory, MessageRow, SegmentRow, SemaphoreRow, Unlisted,
};
use crate::transport::key::Key;
use crate::transport::procs::{printable, Attached};
use crate::transport::users::Users;

/// One namespace as a JSON object: `"namespace"` (which a listing of many
/// namespaces extends with its own fields), then one array per table, or
/// `null` and the reason beside it where a table cannot be read.
pub fn json(inv: &Inventory, users: &Users) -> Value {
    let target = &inv.target;
    let (posix_messages, posix_messages_why) = match &inv.posix_messages {
        Ok(queues) => (
            queues
                .iter()
                .map(|q| {
                    let attr = |f: fn(&crate::transport::mqueue::Attributes) -> i64| {
                        q.attributes.as_ref().map(f)
                    };
                    json!({
                        "name": printable(q.name.as_str()),
                        "perms": perms(q.owner.mode),
                        "owner": users.name(q.owner.uid),
                        "uid": q.owner.uid,
                        "gid": q.owner.gid,
                        "size": q.qsize,
                        "msgs": attr(|a| a.curmsgs),
                        "maxmsg": attr(|a| a.maxmsg),
                        "msgsize": attr(|a| a.msgsize),
                        "notify": {"how": q.notify.how, "signo": q.notify.signo, "pid": q.notify.pid},
                    })
                })
                .collect(),
            Value::Null,
        ),
        Err(e) => (Value::Null, Value::from(unlisted(e))),
    };
    let (posix_shm, posix_shm_why) = match &inv.posix_shm {
        Ok(files) => (
            files
                .iter()
                .map(|row| {
                    let f = &row.file;
                    json!({
                        "name": printable(&f.name),
                        "perms": perms(f.mode),
                        "owner": users.name(f.uid),
                        "uid": f.uid,
                        "gid": f.gid,
                        "size": f.size,
                        "rss": f.resident,
                        "mtime": f.mtime,
                        "mapped": processes(&row.mapped),
                    })
                })
                .collect(),
            Value::Null,
        ),
        Err(e) => (Value::Null, Value::from(unlisted(e))),
    };
    json!({
        "namespace": {
            "ipc": target.ns.to_string(),
            "inode": target.ns.0,
            "enter": target.enter_via.as_deref().map(enter),
        },
        "sharedmemory": inv.segments.iter().map(|r| segment(inv, r, users)).collect::<Vec<_>>(),
        "messages": inv.messages.iter().map(|r| message(inv, r, users)).collect::<Vec<_>>(),
        "semaphores": inv.semaphores.iter().map(|r| semaphore(inv, r, users)).collect::<Vec<_>>(),
        "posix-messages": posix_messages,
        "posix-messages-unavailable": posix_messages_why,
        "posix-sharedmemory": posix_shm,
        "posix-sharedmemory-unavailable": posix_shm_why,
    })
}

/// What every System V object has: the columns `ipcs` shows for all three
/// kinds, and our verdict on its creator.
struct Common<'a> {
    object: Object,
    key: Key,
    id: i32,
    mode: u16,
    /// Owner's uid and gid, creator's uid and gid.
    ids: [u32; 4],
    ctime: i64,
    creator: &'a Creator,
    orphan: bool,
}

/// The object's common columns, then `own`'s.
fn object(inv: &Inventory, c: Common<'_>, users: &Users, own: Value) -> Value {
    let [uid, gid, cuid, cgid] = c.ids;
    let mut value = json!({
        "key": c.key.to_string(),
        "id": c.id,
        "perms": perms(c.mode),
        "owner": users.name(uid),
        "uid": uid,
        "gid": gid,
        "cuid": cuid,
        "cgid": cgid,
        "ctime": time(c.ctime),
        "creator": creator_word(c.creator),
        "orphan": c.orphan,
        "age": age_secs(c.ctime),
        "ipcrm": c.orphan.then(|| ipcrm(&inv.target, c.object, c.id)),
    });
    if let (Value::Object(all), Value::Object(own)) = (&mut value, own) {
        all.extend(own);
    }
    value
}

fn segment(inv: &Inventory, row: &SegmentRow, users: &Users) -> Value {
    let (e, m) = (&row.entry, &row.entry.more);
    let status = status(e);
    let common = Common {
        object: Object::Segment,
        key: e.key,
        id: e.shmid,
        mode: e.mode,
        ids: [e.uid, m.gid, m.cuid, m.cgid],
        ctime: m.ctime,
        creator: &row.creator,
        orphan: row.orphan,
    };
    let own = json!({
        "size": e.size,
        "nattch": e.nattch,
        "status": (!status.is_empty()).then(|| status.join(",")),
        "attach": time(m.atime),
        "detach": time(m.dtime),
        "cpid": m.cpid,
        "lpid": m.lpid,
        "command": creator_command(&row.creator),
        "rss": m.rss,
        "swap": m.swap,
        "kind": kind(row.holds.as_ref()),
        "holds": summary(row.holds.as_ref()),
        "attached": processes(&row.attached),
    });
    object(inv, common, users, own)
}

fn message(inv: &Inventory, row: &MessageRow, users: &Users) -> Value {
    let e = &row.entry;
    let common = Common {
        object: Object::Queue,
        key: e.key,
        id: e.msqid,
        mode: e.mode,
        ids: [e.uid, e.gid, e.cuid, e.cgid],
        ctime: e.ctime,
        creator: &row.creator,
        orphan: row.orphan,
    };
    let own = json!({
        "usedbytes": e.cbytes,
        "msgs": e.qnum,
        "send": time(e.stime),
        "recv": time(e.rtime),
        "lspid": e.lspid,
        "lrpid": e.lrpid,
    });
    object(inv, common, users, own)
}

fn semaphore(inv: &Inventory, row: &SemaphoreRow, users: &Users) -> Value {
    let e = &row.entry;
    let common = Common {
        object: Object::Semaphores,
        key: e.key,
        id: e.semid,
        mode: e.mode,
        ids: [e.uid, e.gid, e.cuid, e.cgid],
        ctime: e.ctime,
        creator: &row.creator,
        orphan: row.orphan,
    };
    let own = json!({"nsems": e.nsems, "otime": time(e.otime)});
    object(inv, common, users, own)
}

/// Permission bits as `lsipc --numeric-perms` prints them (`0644`).
fn perms(mode: u16) -> String {
    format!("{mode:04o}")
}

/// A kernel time: Unix seconds, `None` (null) for never.
fn time(secs: i64) -> Option<i64> {
    (secs != 0).then_some(secs)
}

/// The creator's command line, while it runs (`lsipc`'s `command`).
fn creator_command(creator: &Creator) -> Option<&str> {
    match creator {
        Creator::Running { command_line, .. } => Some(command_line),
        _ => None,
    }
}

fn processes(procs: &[Attached]) -> Vec<Value> {
    procs
        .iter()
        .map(|a| json!({"pid": a.pid, "command": a.command, "container": a.container}))
        .collect()
}

/// Why POSIX objects are not listed, as text for a script's log.
fn unlisted(e: &Unlisted<impl std::fmt::Display>) -> String {
    match e {
        Unlisted::NoProcess => NO_PROCESS.to_owned(),
        Unlisted::Failed(e) => e.to_string(),
    }
}
