//! Installing from source: `--generate`'s man page and completions, each
//! taken by its consumer (man, bash, zsh, fish) as it is; `cargo install
//! --path` from a clean clone giving working binaries; and `--version`
//! naming the commit built, `-dirty` after an edit, and without git the
//! commit `SHM_TOOLS_COMMIT` names or none.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use shm_tests::{bin, run_ok, show_output, target_dir, workspace, Proc, Sandbox, TempDir};

const TOOLS: [&str; 2] = ["shm_write", "shm_read"];

/// `tool --generate what`, written to `dir/name`.
fn generate(tool: &str, what: &str, dir: &Path, name: &str) -> String {
    let text = run_ok(Command::new(bin(tool)).args(["--generate", what]));
    let path = dir.join(name);
    std::fs::write(&path, &text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Text with every run of white space made one space.
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_man_page_renders_every_section_and_the_exit_statuses_of_help() {
    let dir = TempDir::new("man");
    for tool in TOOLS {
        let page = generate(tool, "man", &dir.0, &format!("{tool}.1"));
        // Wide enough that man breaks no line, in ASCII (no typographic hyphens).
        let shown = run_ok(
            Command::new("man")
                .args(["-l", &page])
                .env("MANPAGER", "cat")
                .env("MANWIDTH", "1000")
                .env("LC_ALL", "C"),
        );
        let headings: Vec<&str> = shown
            .lines()
            .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
            .collect();
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "EXAMPLES",
            "VERSION",
        ] {
            assert!(
                headings.contains(&section),
                "{tool}(1) has no {section}: {headings:?}"
            );
        }
        let text = squeeze(&shown);
        for example in [
            "shm_write &",
            "shm_read",
            "docker run --rm --ipc container:shm-writer shm-time /bin/shm_read",
            "/dev/shm/shm_file",
            "--generate <WHAT>",
        ] {
            assert!(
                text.contains(example),
                "{tool}(1) lacks {example:?}:\n{shown}"
            );
        }
        // EXIT STATUS says exactly what --help says, status by status.
        let help = run_ok(Command::new(bin(tool)).arg("--help"));
        let statuses = help
            .split("Exit status:")
            .nth(1)
            .expect("--help has exit statuses");
        let section = text
            .split(" EXIT STATUS ")
            .nth(1)
            .and_then(|rest| rest.split(" ENVIRONMENT ").next())
            .unwrap();
        assert_eq!(
            section,
            squeeze(statuses),
            "{tool}: man page and --help differ"
        );
        let first = statuses.split_whitespace().next();
        assert_eq!(first, Some("0"), "{tool} --help: {statuses}");
    }
}

#[test]
fn bash_completes_the_flags_and_the_generate_values() {
    let dir = TempDir::new("bash");
    for tool in TOOLS {
        let script = generate(tool, "bash", &dir.0, tool);
        run_ok(Command::new("bash").args(["-n", &script]));
        // Complete `tool --gen` and `tool --generate ` as bash would.
        let complete = |words: &str, cword: usize| {
            run_ok(Command::new("bash").args([
                "-c",
                &format!(
                    "source '{script}' && COMP_WORDS=({words}) && COMP_CWORD={cword} && \
                     COMP_LINE=\"${{COMP_WORDS[*]}}\" && COMP_POINT=${{#COMP_LINE}} && \
                     _{tool} {tool} \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\" && \
                     printf '%s\\n' \"${{COMPREPLY[@]}}\""
                ),
            ]))
        };
        let flags = complete(&format!("{tool} --gen"), 1);
        assert_eq!(flags.trim(), "--generate", "{tool}");
        let values = complete(&format!("{tool} --generate ''"), 2);
        assert_eq!(
            values.split_whitespace().collect::<Vec<_>>(),
            ["man", "bash", "zsh", "fish"],
            "{tool}"
        );
    }
}

#[test]
fn zsh_and_fish_load_the_completions() {
    let dir = TempDir::new("zsh-fish");
    for tool in TOOLS {
        let zsh = generate(tool, "zsh", &dir.0, &format!("_{tool}"));
        run_ok(Command::new("zsh").args(["-n", &zsh]));
        // Loaded as a zsh completion system loads it: a function for the tool.
        let loaded = run_ok(Command::new("zsh").args([
            "-fc",
            &format!(
                "autoload -Uz compinit && compinit -u -D && source '{zsh}' && whence -w _{tool}"
            ),
        ]));
        assert_eq!(loaded.trim(), format!("_{tool}: function"));

        let fish = generate(tool, "fish", &dir.0, &format!("{tool}.fish"));
        run_ok(Command::new("fish").args(["-n", &fish]));
        let offered = run_ok(Command::new("fish").args([
            "--no-config",
            "-c",
            &format!("source '{fish}'; complete -C'{tool} --gen'; complete -C'{tool} --generate '"),
        ]));
        // fish sorts what it offers.
        let mut words: Vec<&str> = offered
            .lines()
            .filter_map(|l| l.split('\t').next())
            .collect();
        words.sort_unstable();
        assert_eq!(
            words,
            ["--generate", "bash", "fish", "man", "zsh"],
            "{tool}: {offered}"
        );
    }
}

#[test]
fn generate_stands_alone_names_its_values_and_reports_a_failed_stdout() {
    for tool in TOOLS {
        let out = Command::new(bin(tool))
            .args(["--generate", "man", "--key-file", "/tmp/k"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", show_output(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with(&format!(
                "{tool}: error: the argument '--generate <WHAT>' cannot be used"
            )),
            "{err}"
        );
        let out = Command::new(bin(tool))
            .args(["--generate", "pdf"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", show_output(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("[possible values: man, bash, zsh, fish]"),
            "{err}"
        );
        // A stdout that cannot take it: the status says so, never a panic.
        for what in ["man", "bash"] {
            let full = std::fs::File::create("/dev/full").unwrap();
            let out = Command::new(bin(tool))
                .args(["--generate", what])
                .stdout(full)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(8), "{}", show_output(&out));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.starts_with(&format!("{tool}: error: cannot write to stdout")),
                "{err}"
            );
        }
    }
}

/// `dir/bin --version`.
fn version(binary: &Path) -> String {
    run_ok(Command::new(binary).arg("--version"))
        .trim()
        .to_owned()
}

#[test]
fn cargo_install_from_a_clean_clone_names_the_commit_it_built() {
    let dir = TempDir::new("install");
    let clone = dir.0.join("src");
    run_ok(
        Command::new("git")
            .args(["clone", "--quiet"])
            .arg(workspace())
            .arg(&clone),
    );
    let commit =
        run_ok(
            Command::new("git")
                .arg("-C")
                .arg(&clone)
                .args(["rev-parse", "--short", "HEAD"]),
        );
    let commit = commit.trim();
    // A warm target directory: this build's, where cargo reuses the dependencies.
    let cargo = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(args)
            .current_dir(&clone)
            .env("CARGO_TARGET_DIR", target_dir());
        cmd
    };
    let root = dir.0.join("root");
    for package in ["shm-write", "shm-read"] {
        run_ok(
            cargo(&[
                "install", "--locked", "--quiet", "--path", package, "--root",
            ])
            .arg(&root),
        );
    }
    let version_of =
        |tool: &str, build: &str| format!("{tool} {} ({build})", env!("CARGO_PKG_VERSION"));
    for tool in TOOLS {
        assert_eq!(
            version(&root.join("bin").join(tool)),
            version_of(tool, &format!("commit {commit}"))
        );
    }

    // The installed pair works: the writer publishes, the reader prints.
    let sandbox = Sandbox::new();
    let mut writer = Proc::spawn(
        sandbox
            .command(root.join("bin/shm_write"))
            .args(["--interval", "100ms"]),
    );
    let reading = run_ok(sandbox.command(root.join("bin/shm_read")).args([
        "--count",
        "1",
        "--timeout",
        "20s",
    ]));
    assert!(reading.starts_with("now time: "), "{reading}");
    writer.signal(Signal::SIGTERM);
    assert!(writer
        .wait_exit(Duration::from_secs(20))
        .is_some_and(|s| s.success()));

    // shm_read built again from the clone, with SHM_TOOLS_COMMIT set or
    // not: what its --version says.
    let rebuilt = |commit_variable: Option<&str>| {
        let mut build = cargo(&[
            "build",
            "--release",
            "--locked",
            "--quiet",
            "-p",
            "shm-read",
        ]);
        match commit_variable {
            Some(commit) => build.env("SHM_TOOLS_COMMIT", commit),
            None => build.env_remove("SHM_TOOLS_COMMIT"),
        };
        run_ok(build);
        version(&target_dir().join("release/shm_read"))
    };

    // An edit makes the build -dirty.
    let main = clone.join("shm-read/src/main.rs");
    let source = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, format!("{source}// an edit\n")).unwrap();
    assert_eq!(
        rebuilt(None),
        version_of("shm_read", &format!("commit {commit}-dirty"))
    );

    // Without git, as from a tarball: the commit SHM_TOOLS_COMMIT names, or none.
    std::fs::remove_dir_all(clone.join(".git")).unwrap();
    assert_eq!(
        rebuilt(Some("0123abc")),
        version_of("shm_read", "commit 0123abc")
    );
    assert_eq!(rebuilt(None), version_of("shm_read", "unknown commit"));
}
