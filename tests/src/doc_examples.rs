//! The ```` ```console ```` examples of README.md and docs/*.md: where they
//! are, what they run and what they claim to print, and the comparison of
//! that claim with what a command really printed.
//!
//! A block is a list of steps: a `$ ` line is a command, the lines after it
//! (up to the next `$ `) are what it prints, stdout and stderr together, as
//! a terminal shows them. HTML comments directly above a block (blank lines
//! allowed in between) are directives for the tests, invisible on the
//! rendered page:
//!
//! - `<!-- checked by tests/tests/FILE.rs::TEST -->`: the block needs
//!   containers; the named test runs it and compares its output. TEST is a
//!   `#[test] fn` of FILE, or a test FILE makes with `on_engine!` from a
//!   shared body in `tests/tests/both/` (the same name on either engine).
//! - `<!-- setup: COMMAND -->`: run before the block, in its shell; it must
//!   print nothing.
//! - `<!-- interrupted: COMMAND -->`: that command of the block runs until
//!   the lines shown after it are out, then gets SIGINT, as Ctrl-C would
//!   give it.
//!
//! The comparison ([`compare`]) is exact, line by line, after [`normalize`]
//! has replaced the parts that differ from run to run with placeholders, on
//! both sides alike and only in the positions listed there: keys, shmids,
//! pids, IPC namespaces, times, ages and durations. Everything else (the
//! words, sizes, modes, counts, exit statuses, the number of lines) must
//! match as written.

use std::path::PathBuf;

use crate::workspace;

/// One ```` ```console ```` block.
#[derive(Debug, Clone)]
pub struct Block {
    /// The file, relative to the workspace root (`docs/streams.md`).
    pub file: String,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The HTML comments directly above it, without `<!--` and `-->`.
    pub directives: Vec<String>,
    pub steps: Vec<Step>,
}

/// One `$ ` command of a block and the lines the doc shows after it.
#[derive(Debug, Clone)]
pub struct Step {
    pub command: String,
    /// 1-based line of the `$ ` line.
    pub line: usize,
    pub expected: Vec<String>,
}

/// Programs whose examples need a container engine: a block with a command
/// that starts with one of them is run by the container tests.
pub const CONTAINER_TOOLS: &[&str] = &["docker", "podman", "kubectl", "docker-compose"];

impl Block {
    /// `docs/streams.md:9`.
    pub fn place(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// Whether a command of the block runs a container tool (after any
    /// `VAR=value` assignments and `time`).
    pub fn needs_containers(&self) -> bool {
        self.steps.iter().any(|s| {
            let first = s
                .command
                .split_whitespace()
                .find(|w| !w.contains('=') && *w != "time");
            first.is_some_and(|w| CONTAINER_TOOLS.contains(&w))
        })
    }

    /// The `checked by` directive's test: (`tests/tests/FILE.rs`, `TEST`).
    pub fn checker(&self) -> Option<(String, String)> {
        self.directives.iter().find_map(|d| {
            let rest = d.strip_prefix("checked by ")?.trim();
            let (file, test) = rest.split_once("::")?;
            Some((file.to_owned(), test.to_owned()))
        })
    }

    /// The values of the directives named `name` (`setup`, `interrupted`).
    pub fn directive(&self, name: &str) -> Vec<String> {
        self.directives
            .iter()
            .filter_map(|d| d.strip_prefix(name)?.strip_prefix(':'))
            .map(|v| v.trim().to_owned())
            .collect()
    }

    /// The step whose command is `command` (compared without a trailing
    /// `# comment` and surrounding blanks).
    pub fn step(&self, command: &str) -> Option<&Step> {
        self.steps
            .iter()
            .find(|s| strip_comment(&s.command) == strip_comment(command))
    }
}

fn strip_comment(command: &str) -> &str {
    command.split(" #").next().unwrap_or(command).trim()
}

/// README.md and docs/*.md, relative to the workspace root, in a fixed order.
pub fn doc_files() -> Vec<String> {
    let mut files = vec!["README.md".to_owned()];
    let mut docs: Vec<String> = std::fs::read_dir(workspace().join("docs"))
        .expect("read docs/")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// Every console block of every doc file.
pub fn all_blocks() -> Vec<Block> {
    doc_files().iter().flat_map(|f| blocks(f)).collect()
}

/// The console blocks of one file (relative to the workspace root).
pub fn blocks(file: &str) -> Vec<Block> {
    let path: PathBuf = workspace().join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    parse(file, &text)
}

/// Parse the console blocks of `text` (the contents of `file`).
pub fn parse(file: &str, text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            let info = trimmed.trim_start_matches('`').trim();
            let console = info == "console";
            let mut block = Block {
                file: file.to_owned(),
                line: i + 1,
                directives: std::mem::take(&mut comments),
                steps: Vec::new(),
            };
            for (j, body) in lines.by_ref() {
                if body.trim_start().starts_with("```") {
                    break;
                }
                if !console {
                    continue;
                }
                if let Some(command) = body.strip_prefix("$ ") {
                    block.steps.push(Step {
                        command: command.to_owned(),
                        line: j + 1,
                        expected: Vec::new(),
                    });
                } else if let Some(step) = block.steps.last_mut() {
                    step.expected.push(body.to_owned());
                } else {
                    panic!(
                        "{file}:{}: console block output before any `$ ` command: {body:?}",
                        j + 1
                    );
                }
            }
            if console {
                blocks.push(block);
            }
        } else if let Some(comment) = trimmed
            .strip_prefix("<!--")
            .and_then(|c| c.strip_suffix("-->"))
        {
            comments.push(comment.trim().to_owned());
        } else if !trimmed.is_empty() {
            comments.clear();
        }
    }
    blocks
}

/// The lines `file`'s console example shows after `command` (the first
/// block holding it), for a test that runs that command elsewhere (in a
/// container) and compares with [`compare`].
pub fn expected_output(file: &str, command: &str) -> Vec<String> {
    blocks(file)
        .iter()
        .find_map(|b| b.step(command))
        .unwrap_or_else(|| panic!("{file} shows no console example of `$ {command}`"))
        .expected
        .clone()
}

/// The lines shown after `command` in the blocks whose `checked by`
/// directive names `test`: what that container test compares with what
/// the command printed there.
pub fn shown(test: &str, command: &str) -> Vec<String> {
    all_blocks()
        .iter()
        .filter(|b| b.checker().is_some_and(|(_, t)| t == test))
        .find_map(|b| b.step(command))
        .unwrap_or_else(|| panic!("no console block checked by {test} shows `$ {command}`"))
        .expected
        .clone()
}

/// Whether `file` (`tests/tests/x.rs`) has a `#[test]` function `name`:
/// one written in it, or one that its `on_engine!(...)` line makes from a
/// shared body ([`engine_test_exists`]).
pub fn test_exists(file: &str, name: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(workspace().join(file)) else {
        return false;
    };
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines.iter().enumerate().any(|(i, l)| {
        l.starts_with(&format!("fn {name}(")) && {
            // The attributes and comments right above it include #[test].
            lines[..i]
                .iter()
                .rev()
                .take_while(|a| a.starts_with("#[") || a.starts_with("//"))
                .any(|a| *a == "#[test]")
        }
    }) || engine_test_exists(file, &lines, name)
}

/// Whether `file` (its trimmed `lines`) makes the test `name` with the
/// `on_engine!` macro of its `both` module (`tests/tests/both/mod.rs`): the
/// file has `mod both;` and an `on_engine!(...)` line, the macro's list
/// names `name`, and a file of `both/` defines `pub fn name(`, the body the
/// `#[test]` calls on the file's engine.
fn engine_test_exists(file: &str, lines: &[&str], name: &str) -> bool {
    let invoked = lines.contains(&"mod both;")
        && lines
            .iter()
            .any(|l| l.starts_with("on_engine!(") && !l.starts_with("on_engine!(@"));
    if !invoked {
        return false;
    }
    let Some(dir) = workspace().join(file).parent().map(|d| d.join("both")) else {
        return false;
    };
    let Ok(macros) = std::fs::read_to_string(dir.join("mod.rs")) else {
        return false;
    };
    // The names after `on_engine!(@tests $engine;`, up to the closing `);`.
    let listed = macros
        .split_once("on_engine!(@tests $engine;")
        .and_then(|(_, rest)| rest.split_once(");"))
        .is_some_and(|(list, _)| list.split(',').map(str::trim).any(|n| n == name));
    let body = format!("pub fn {name}(");
    listed
        && std::fs::read_dir(&dir).is_ok_and(|entries| {
            entries.filter_map(Result::ok).any(|e| {
                e.path().extension().is_some_and(|x| x == "rs")
                    && std::fs::read_to_string(e.path())
                        .is_ok_and(|t| t.lines().any(|l| l.trim().starts_with(&body)))
            })
        })
}

// --- matching -----------------------------------------------------------

/// What a variable token is made of.
#[derive(Clone, Copy)]
enum Class {
    /// `[0-9]+`
    Digits,
    /// `[0-9]+(\.[0-9]+)?`
    Decimal,
    /// `[0-9a-f]+`
    Hex,
}

/// (text right before the variable part, its class, its placeholder). The
/// text before must match exactly, and a context that starts with a letter
/// must start a word.
const RULES: &[(&str, Class, &str)] = &[
    ("ipc:[", Class::Digits, "<ns>"),
    ("ipc_ns=", Class::Digits, "<ns>"),
    ("now time: ", Class::Digits, "<secs>"),
    ("pid ", Class::Digits, "<pid>"),
    ("pid=", Class::Digits, "<pid>"),
    ("\"writer_pid\":", Class::Digits, "<pid>"),
    ("shmid ", Class::Digits, "<shmid>"),
    ("shmid=", Class::Digits, "<shmid>"),
    ("\"shmid\":", Class::Digits, "<shmid>"),
    ("\"secs\":", Class::Digits, "<secs>"),
    ("\"seq\":", Class::Digits, "<seq>"),
    ("\"nanos\":", Class::Digits, "<nanos>"),
    ("\"age_ms\":", Class::Decimal, "<ms>"),
    ("last publish ", Class::Decimal, "<age>"),
    ("(container ", Class::Hex, "<container>"),
    ("made ", Class::Digits, "<age>"),
    ("ipcrm -m ", Class::Digits, "<shmid>"),
    ("ipcrm -q ", Class::Digits, "<msqid>"),
    ("ipcrm -s ", Class::Digits, "<semid>"),
];

/// The rows of `--inspect` whose value changes from run to run: their hex
/// word is replaced, and so are the numbers of their decoded value.
const VARIABLE_FIELDS: &[&str] = &[
    "C text",
    "sequence",
    "seconds",
    "nanos | state",
    "writer pid",
    "writer IPC namespace",
    "writer started",
];

/// `line` with trailing blanks removed and its variable parts replaced by
/// placeholders:
///
/// - RFC 3339 times (`2026-11-24T00:01:00+00:00`, `...T21:30:58.862Z`): `<time>`;
/// - System V keys, `0x` and exactly 8 hex digits: `<key>`;
/// - a key row of `ipcs -m` or `--list` (`0x08280002 0          root`): its
///   shmid column, `<key> <shmid> `;
/// - the numbers after the contexts in [`RULES`] (`ipc:[N]`, `now time: N`,
///   `pid N`, `shmid N`, `"seq":N`, `"age_ms":N.N`, `last publish N.Ns ago`, ...);
/// - `(container fa7bb9401450)` in `--list`: `(container <container>)`;
/// - `real    0m0.104s` (from `time`): `real <duration>`;
/// - an orphan's age (`made 3s ago`) and the id in its `ipcrm` line;
/// - the size of the key file's row in `--list`'s `/dev/shm` block;
/// - the `--inspect` rows in [`VARIABLE_FIELDS`]: their hex word and the
///   numbers of their decoded value; every `--inspect` row has its columns
///   joined by single blanks.
///
/// Both the doc's line and the real one go through it, so a placeholder
/// only matches a placeholder of the same kind at the same place.
pub fn normalize(line: &str) -> String {
    let mut s = replace_times(line.trim_end());
    s = replace_keys(&s);
    if let Some(rest) = s.strip_prefix("<key> ") {
        let rest = rest.trim_start();
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            s = format!("<key> <shmid> {}", rest[digits..].trim_start());
        }
    }
    for (context, class, name) in RULES {
        s = replace_after(&s, context, *class, name);
    }
    if let Some(rest) = s.strip_prefix("real") {
        if rest.starts_with([' ', '\t']) && rest.trim().ends_with('s') {
            s = "real <duration>".to_owned();
        }
    }
    inspect_row(&s).or_else(|| key_file_row(&s)).unwrap_or(s)
}

/// `--list`'s row for the key file in `/dev/shm`, columns joined by single
/// blanks, its size (the writer's beacon, whose length follows its pid and
/// namespace) replaced.
fn key_file_row(s: &str) -> Option<String> {
    let mut columns: Vec<&str> = s.split_whitespace().collect();
    (columns.first() == Some(&"shm_file") && columns.len() >= 5).then(|| {
        columns[3] = "<bytes>";
        columns.join(" ")
    })
}

/// Compare what the doc shows with what was printed, line by line, after
/// [`normalize`]. The error names the first difference and shows both.
pub fn compare(expected: &[String], actual: &[String]) -> Result<(), String> {
    let want: Vec<String> = expected.iter().map(|l| normalize(l)).collect();
    let got: Vec<String> = actual.iter().map(|l| normalize(l)).collect();
    if want == got {
        return Ok(());
    }
    let i = want
        .iter()
        .zip(&got)
        .position(|(w, g)| w != g)
        .unwrap_or(want.len().min(got.len()));
    let show = |lines: &[String]| {
        if lines.is_empty() {
            "    (nothing)\n".to_owned()
        } else {
            lines.iter().map(|l| format!("    {l}\n")).collect()
        }
    };
    Err(format!(
        "line {} differs:\n  doc:       {:?}\n  printed:   {:?}\n  the doc shows:\n{}  the command printed:\n{}",
        i + 1,
        want.get(i).map(String::as_str).unwrap_or("(no more lines)"),
        got.get(i).map(String::as_str).unwrap_or("(no more lines)"),
        show(expected),
        show(actual)
    ))
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Replace the token of `class` right after each `context`.
fn replace_after(s: &str, context: &str, class: Class, name: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(context) {
        let starts_word =
            !context.starts_with(is_word) || !rest[..at].chars().next_back().is_some_and(is_word);
        let after = &rest[at + context.len()..];
        let len = token_len(after, class);
        out.push_str(&rest[..at + context.len()]);
        if starts_word && len > 0 {
            out.push_str(name);
            rest = &after[len..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn token_len(s: &str, class: Class) -> usize {
    let digits = |t: &str| t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let n = digits(s);
    match class {
        Class::Digits => n,
        Class::Decimal if n > 0 && s[n..].starts_with('.') => {
            let m = digits(&s[n + 1..]);
            if m > 0 {
                n + 1 + m
            } else {
                n
            }
        }
        Class::Decimal => n,
        Class::Hex => s.len() - s.trim_start_matches(|c: char| c.is_ascii_hexdigit()).len(),
    }
}

/// `s` with each span that `at` finds (given the bytes and a char
/// boundary, the span's end) replaced by `with`.
fn replace_spans(s: &str, with: &str, at: impl Fn(&[u8], usize) -> Option<usize>) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if let Some(end) = at(b, i) {
            out.push_str(with);
            i = end;
            continue;
        }
        let c = s[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// `0x` and exactly 8 hex digits, not inside a longer word: `<key>`.
fn replace_keys(s: &str) -> String {
    replace_spans(s, "<key>", |b, i| {
        if !b[i..].starts_with(b"0x") || (i > 0 && is_word(b[i - 1] as char)) {
            return None;
        }
        let hex = b[i + 2..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        let end = i + 2 + hex;
        (hex == 8 && !b.get(end).is_some_and(|&c| is_word(c as char))).then_some(end)
    })
}

/// RFC 3339 times: `YYYY-MM-DDTHH:MM:SS`, optional fraction, `Z` or
/// `+HH:MM`/`-HH:MM`: `<time>`.
fn replace_times(s: &str) -> String {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd";
    replace_spans(s, "<time>", |b, i| {
        let fits = b.len() >= i + SHAPE.len()
            && SHAPE.iter().zip(&b[i..]).all(|(&p, &c)| match p {
                b'd' => c.is_ascii_digit(),
                p => p == c,
            });
        if !fits || (i > 0 && b[i - 1].is_ascii_digit()) {
            return None;
        }
        let mut end = i + SHAPE.len();
        if b.get(end) == Some(&b'.') {
            end += 1;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        if b.get(end) == Some(&b'Z') {
            end += 1;
        } else if matches!(b.get(end), Some(b'+' | b'-'))
            && b.len() >= end + 6
            && b[end + 3] == b':'
            && [1, 2, 4, 5].iter().all(|&k| b[end + k].is_ascii_digit())
        {
            end += 6;
        }
        Some(end)
    })
}

/// A `--inspect` row (`   192..200  sequence   0x...08  8 (4 publishes)`),
/// columns joined by single blanks, its variable parts replaced.
fn inspect_row(s: &str) -> Option<String> {
    let t = s.trim_start();
    let (range, rest) = t.split_once(' ')?;
    let (from, to) = range.split_once("..")?;
    if from.parse::<u64>().is_err() || to.parse::<u64>().is_err() {
        return None;
    }
    let columns: Vec<&str> = rest
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let [label, hex, decoded @ ..] = columns.as_slice() else {
        return None;
    };
    let decoded = decoded.join(" ");
    if !VARIABLE_FIELDS.contains(label) {
        return Some(format!("{range} {label} {hex} {decoded}"));
    }
    let mut numbers = String::new();
    let mut in_number = false;
    for c in decoded.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                numbers.push_str("<n>");
            }
            in_number = true;
        } else {
            in_number = false;
            numbers.push(c);
        }
    }
    Some(format!("{range} {label} <hex> {numbers}"))
}
