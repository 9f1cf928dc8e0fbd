//! `--inspect`: one segment field by field, with byte offsets, the way one
//! would look at it in a debugger: the kernel's facts, the C text, the
//! header, the record words as they are in memory (raw, not under the
//! seqlock), what they decode to, and a hex dump of what cannot be
//! decoded. Read-only: the segment is attached `SHM_RDONLY`.

use std::fmt::Write as _;

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
use crate::list::{kind, look, status, summary, Users};
use crate::output::{json_string, Format};
use crate::Failure;

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
    let entries = TableEntry::all().map_err(|e| (Exit::Failure, messages::no_table(&e)))?;
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
    let (fields, dump) = match &segment {
        Some(s) => decode(s.view(), holds.as_ref()),
        None => (Vec::new(), None),
    };
    let users = Users::load();
    let text = match args.format {
        Format::Json => json(ns, &entry, holds.as_ref(), &fields, dump.as_deref()),
        _ => human(ns, &entry, holds.as_ref(), &fields, dump.as_deref(), &users),
    };
    console::print(&text)?;
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
fn decode(view: ReadView<'_>, holds: Option<&Holds>) -> (Vec<Field>, Option<Vec<u8>>) {
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
    let mut text_bytes = [0u8; text::TEXT_LEN];
    view.copy_bytes(0, &mut text_bytes[..view.bytes().min(text::TEXT_LEN)]);
    let c_text = text::c_str(&text_bytes).map_or_else(
        |e| e.to_string(),
        |t| format!("{:?}", String::from_utf8_lossy(t)),
    );
    let all = || {
        let mut bytes = vec![0u8; view.bytes()];
        view.copy_bytes(0, &mut bytes);
        bytes
    };
    if view.bytes() < header::HEADER_END {
        return (fields, Some(all()));
    }
    push(0, "C text", c_text);
    push(
        128,
        "magic",
        format!(
            "{:?}",
            String::from_utf8_lossy(&word(header::word::MAGIC).to_le_bytes())
        ),
    );
    push(
        136,
        "layout version",
        word(header::word::VERSION).to_string(),
    );
    push(
        144,
        "kind",
        match header::identify(view) {
            Ok(Content::Ours(kind)) => kind.name().to_owned(),
            Ok(Content::Foreign) => "no header (a C writer's segment, or empty)".to_owned(),
            Err(e) => e.to_string(),
        },
    );
    match header::identify(view) {
        Ok(Content::Ours(kind)) => {
            let spec = spec_of(kind);
            for field in spec.fields {
                if let Some(raw) = field.raw(view) {
                    push(field.word * 8, field.name, field.decode.meaning(raw, view));
                }
            }
            if !spec.fits(view) {
                return (fields, Some(all()));
            }
            (fields, spec.dump.and_then(|dump| dump(view)))
        }
        Ok(Content::Foreign) if matches!(holds, Some(Holds::CText { .. } | Holds::Empty)) => {
            (fields, None)
        }
        _ => (fields, Some(all())),
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
    ns: Ns,
    entry: &TableEntry,
    holds: Option<&Holds>,
    fields: &[Field],
    dump: Option<&[u8]>,
    users: &Users,
) -> String {
    let m = &entry.more;
    let mut out = format!(
        "segment {} (shmid {}) in IPC namespace {ns}\n",
        entry.key, entry.shmid
    );
    let _ = writeln!(
        out,
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
        out,
        "        creator pid {}, last pid {}, {}",
        m.cpid,
        m.lpid,
        times.join(", ")
    );
    let _ = writeln!(out, "holds: {}", summary(holds));
    for f in fields {
        let _ = writeln!(
            out,
            "  {:>4}..{:<4} {:<22} 0x{:016x}  {}",
            f.offset,
            f.offset + if f.offset == 0 { text::TEXT_LEN } else { 8 },
            f.name,
            f.raw,
            f.meaning
        );
    }
    if let Some(bytes) = dump {
        let _ = writeln!(out, "hex dump ({} bytes):", bytes.len());
        out += &hex_dump(bytes);
    }
    out
}

fn json(
    ns: Ns,
    entry: &TableEntry,
    holds: Option<&Holds>,
    fields: &[Field],
    dump: Option<&[u8]>,
) -> String {
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
    let hex = dump.map_or("null".into(), |b| {
        format!(
            "\"{}\"",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        )
    });
    format!(
        "{{\"ipc_ns\":\"{ns}\",\"key\":\"{}\",\"shmid\":{},\"bytes\":{},\"perms\":\"{:o}\",\"uid\":{},\"gid\":{},\"cuid\":{},\"cgid\":{},\"nattch\":{},\"cpid\":{},\"lpid\":{},\"atime\":{},\"dtime\":{},\"ctime\":{},\"status\":[{}],\"kind\":\"{}\",\"holds\":{},\"fields\":[{}],\"hex\":{hex}}}\n",
        entry.key, entry.shmid, entry.size, entry.mode, entry.uid, m.gid, m.cuid, m.cgid, entry.nattch, m.cpid, m.lpid, m.atime, m.dtime, m.ctime,
        status(entry).iter().map(|s| json_string(s)).collect::<Vec<_>>().join(","),
        kind(holds),
        json_string(&summary(holds)),
        fields.join(",")
    )
}

/// `xxd`-style lines of 16 bytes; runs of all-zero lines shown once as `*`.
fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut zeros = false;
    for (i, line) in bytes.chunks(16).enumerate() {
        if line.iter().all(|&b| b == 0) && i > 0 && (i + 1) * 16 < bytes.len() {
            if !zeros {
                out += "*\n";
                zeros = true;
            }
            continue;
        }
        zeros = false;
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = line
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        let _ = writeln!(out, "{:08x}: {:<47}  {ascii}", i * 16, hex.join(" "));
    }
    out
}
