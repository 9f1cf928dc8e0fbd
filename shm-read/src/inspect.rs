//! `--inspect`: one segment field by field, with byte offsets, the way one
//! would look at it in a debugger: the kernel's facts, the C text, the
//! header, the record words as they are in memory (raw, not under the
//! seqlock), what they decode to, and a hex dump of what cannot be
//! decoded: its first and last KiB, or with `--full` all of it, written as
//! it is read, never built in memory. Read-only: the segment is attached
//! `SHM_RDONLY`, and its pages not resident in memory are not faulted in.

use std::fmt::Write as _;
use std::io::{self, Write};

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::messages;
use shm_common::protocol::clock::Timestamp;
use shm_common::protocol::describe::Holds;
use shm_common::protocol::fields::time_text;
use shm_common::protocol::header::{self, Content};
use shm_common::protocol::registry::spec_of;
use shm_common::protocol::text;
use shm_common::transport::key::Key;
use shm_common::transport::key_file::KeyFile;
use shm_common::transport::namespace::{self, Ns};
use shm_common::transport::segment::{OpenError, Segment};
use shm_common::transport::table::TableEntry;
use shm_common::transport::view::ReadView;

use crate::flags::{Inspect, Target};
use crate::hex::{hex_dump, hex_string, Dump, Shown};
use crate::output::{json_string, Format};
use crate::Failure;
use shm_common::cli::inventory::{kind, status, summary};
use shm_common::session::inventory::look;
use shm_common::transport::users::Users;

/// One word of the segment: offset, name, raw value, meaning.
struct Field {
    offset: usize,
    name: &'static str,
    raw: u64,
    meaning: String,
}

/// Show the segment.
pub fn run(args: &Inspect) -> Result<Exit, Failure> {
    let ns = Ns(namespace::ipc_namespace().unwrap_or(0));
    let entries = TableEntry::all()
        .map_err(|e| (Exit::Failure, messages::no_table("/proc/sysvipc/shm", &e)))?;
    let (entry, what) = match &args.target {
        Target::Shmid(shmid) => (
            entries.into_iter().find(|e| e.shmid == *shmid),
            format!("with shmid {shmid}"),
        ),
        Target::Key(key) => by_key(entries, *key),
        Target::KeyFile(k) => {
            let key_file = KeyFile::open_for_reader(&k.key_file, k.proj_id)?;
            by_key(entries, key_file.key())
        }
    };
    let entry = entry.ok_or_else(|| (Exit::NoWriter, messages::no_segment(&what)))?;
    let holds = look(&entry);
    let segment = match Segment::attach(entry.key, entry.shmid, true) {
        Ok(segment) => Some(segment),
        Err(OpenError::PermissionDenied { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    // With nothing in swap, a page not resident is one nobody wrote: the
    // dump shows its zeros without faulting it in.
    let in_memory = entry.more.swap == 0;
    let (fields, dump) = match &segment {
        Some(s) => decode(s.view(), holds.as_ref(), in_memory),
        None => (Vec::new(), None),
    };
    let dump = dump.map(|dump| Shown::new(dump, args.full));
    let users = Users::load();
    console::print_streamed(|out| match args.format {
        Format::Json => json(out, ns, &entry, holds.as_ref(), &fields, dump.as_ref()),
        _ => human(
            out,
            ns,
            &entry,
            holds.as_ref(),
            &fields,
            dump.as_ref(),
            &users,
        ),
    })?;
    Ok(Exit::Ok)
}

/// The segment with `key`, and how a message names it.
fn by_key(entries: Vec<TableEntry>, key: Key) -> (Option<TableEntry>, String) {
    (
        entries.into_iter().find(|e| e.key == key),
        format!("with key {key}"),
    )
}

/// The fields of the segment, and the bytes to hex-dump (those not decoded):
/// the C text and the header, then the fields of the kind's spec that lie
/// within the segment.
fn decode<'a>(
    view: ReadView<'a>,
    holds: Option<&Holds>,
    in_memory: bool,
) -> (Vec<Field>, Option<Dump<'a>>) {
    let mut fields = Vec::new();
    let word = |i: usize| if i < view.len() { view.load(i) } else { 0 };
    let mut push = |offset: usize, name: &'static str, meaning: String| {
        fields.push(Field {
            offset,
            name,
            raw: word(offset / 8),
            meaning,
        });
    };
    let all = || Some(Dump::Segment { view, in_memory });
    if view.bytes() < header::HEADER_END {
        return (fields, all());
    }
    for field in header::FIELDS {
        push(
            field.word * 8,
            field.name,
            field.decode.meaning(word(field.word), view),
        );
    }
    match header::identify(view) {
        Ok(Content::Ours(kind)) => {
            let spec = spec_of(kind);
            for field in spec.fields {
                if let Some(raw) = field.raw(view) {
                    push(field.word * 8, field.name, field.decode.meaning(raw, view));
                }
            }
            if !spec.fits(view) {
                return (fields, all());
            }
            (
                fields,
                spec.dump.and_then(|dump| dump(view)).map(Dump::Copy),
            )
        }
        Ok(Content::Foreign) if matches!(holds, Some(Holds::CText { .. } | Holds::Empty)) => {
            (fields, None)
        }
        _ => (fields, all()),
    }
}

fn kernel_times(entry: &TableEntry) -> [(&'static str, i64); 3] {
    [
        ("attached", entry.more.atime),
        ("detached", entry.more.dtime),
        ("changed", entry.more.ctime),
    ]
}

fn human(
    out: &mut dyn Write,
    ns: Ns,
    entry: &TableEntry,
    holds: Option<&Holds>,
    fields: &[Field],
    dump: Option<&Shown<'_>>,
    users: &Users,
) -> io::Result<()> {
    let m = &entry.more;
    let mut text = format!(
        "segment {} (shmid {}) in IPC namespace {ns}\n",
        entry.key, entry.shmid
    );
    let _ = writeln!(
        text,
        "kernel: {} bytes, perms {:o}, owner {} (uid {}) gid {}, creator uid {} gid {}, nattch {}, status {}",
        entry.size, entry.mode, users.name(entry.uid), entry.uid, m.gid, m.cuid, m.cgid, entry.nattch,
        Some(status(entry).join(" ")).filter(|s| !s.is_empty()).unwrap_or_else(|| "-".into())
    );
    let times: Vec<String> = kernel_times(entry)
        .iter()
        .map(|(name, t)| {
            format!(
                "{name} {}",
                if *t == 0 {
                    "never".into()
                } else {
                    time_text(Timestamp::from_secs(*t))
                }
            )
        })
        .collect();
    let _ = writeln!(
        text,
        "        creator pid {}, last pid {}, {}",
        m.cpid,
        m.lpid,
        times.join(", ")
    );
    let _ = writeln!(text, "holds: {}", summary(holds));
    for f in fields {
        let _ = writeln!(
            text,
            "  {:>4}..{:<4} {:<22} 0x{:016x}  {}",
            f.offset,
            f.offset + if f.offset == 0 { text::TEXT_LEN } else { 8 },
            f.name,
            f.raw,
            f.meaning
        );
    }
    out.write_all(text.as_bytes())?;
    match dump {
        Some(shown) => hex_dump(out, shown),
        None => Ok(()),
    }
}

fn json(
    out: &mut dyn Write,
    ns: Ns,
    entry: &TableEntry,
    holds: Option<&Holds>,
    fields: &[Field],
    dump: Option<&Shown<'_>>,
) -> io::Result<()> {
    let m = &entry.more;
    let fields: Vec<String> = fields
        .iter()
        .map(|f| {
            format!(
                "{{\"offset\":{},\"name\":{},\"raw\":\"0x{:016x}\",\"meaning\":{}}}",
                f.offset,
                json_string(f.name),
                f.raw,
                json_string(&f.meaning)
            )
        })
        .collect();
    write!(
        out,
        "{{\"ipc_ns\":\"{ns}\",\"key\":\"{}\",\"shmid\":{},\"bytes\":{},\"perms\":\"{:o}\",\"uid\":{},\"gid\":{},\"cuid\":{},\"cgid\":{},\"nattch\":{},\"cpid\":{},\"lpid\":{},\"atime\":{},\"dtime\":{},\"ctime\":{},\"status\":[{}],\"kind\":\"{}\",\"holds\":{},\"fields\":[{}],\"hex\":",
        entry.key, entry.shmid, entry.size, entry.mode, entry.uid, m.gid, m.cuid, m.cgid, entry.nattch, m.cpid, m.lpid, m.atime, m.dtime, m.ctime,
        status(entry).iter().map(|s| json_string(s)).collect::<Vec<_>>().join(","),
        kind(holds),
        json_string(&summary(holds)),
        fields.join(",")
    )?;
    match dump {
        None => out.write_all(b"null")?,
        Some(shown) => {
            hex_string(out, &shown.dump, shown.head.clone())?;
            // Cut: "hex" holds the first KiB, "hex_tail" the last,
            // "hex_bytes" says how many the whole dump has.
            if let Some(tail) = &shown.tail {
                out.write_all(b",\"hex_tail\":")?;
                hex_string(out, &shown.dump, tail.clone())?;
                write!(out, ",\"hex_bytes\":{}", shown.dump.len())?;
            }
        }
    }
    out.write_all(b"}\n")
}
