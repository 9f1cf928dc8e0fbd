//! The packages of `scripts/package`, tested as they are used: the .deb
//! installed with dpkg in a Debian container (its image assembled from
//! this Debian machine's packages by `scripts/debian-image`, as no registry
//! is reachable), then `shm_read --version`, `man`, bash completion and a
//! purge that leaves nothing of it; the .rpm installed with rpm into an rpm
//! root of its own, run from there, and erased; and the image of
//! `scripts/image`, with its OCI labels and man pages.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use shm_tests::docker::{images, Docker, BARE_IMAGE, IMAGE};
use shm_tests::engine::{unique, Engine};
use shm_tests::{bin, run_ok, show_output, target_dir, workspace, TempDir};

const TOOLS: [&str; 2] = ["shm_write", "shm_read"];
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit the static binaries say they were built from.
fn built_commit() -> String {
    let line = run_ok(Command::new(bin("shm_read")).arg("--version"));
    let commit = line
        .trim()
        .strip_suffix(')')
        .and_then(|l| l.split("(commit ").nth(1));
    commit
        .unwrap_or_else(|| panic!("no commit in {line:?}"))
        .to_owned()
}

/// What `tool --version` says.
fn version_line(tool: &str) -> String {
    format!("{tool} {VERSION} (commit {})", built_commit())
}

/// The .deb and the .rpm, built once per test process by scripts/package
/// into cargo's target directory.
fn packages() -> &'static (PathBuf, PathBuf) {
    static BUILT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        bin("shm_read"); // the static build, once, as the other tests make it
        let out = run_ok(
            Command::new(workspace().join("scripts/package"))
                .arg(target_dir().join("packages"))
                .env("CARGO", env!("CARGO"))
                .stderr(Stdio::inherit()),
        );
        let paths: Vec<PathBuf> = out.lines().map(PathBuf::from).collect();
        assert_eq!(paths.len(), 2, "scripts/package printed {out:?}");
        let deb = target_dir().join(format!("packages/shm-tools_{VERSION}_amd64.deb"));
        let rpm = target_dir().join(format!("packages/shm-tools-{VERSION}-1.x86_64.rpm"));
        assert_eq!(paths, [deb.clone(), rpm.clone()]);
        (deb, rpm)
    })
}

/// What the packages install, as each lists it: the tools, their man
/// pages, bash/zsh/fish completions, the license and the docs.
fn expect_contents(files: &BTreeSet<String>, zsh: &str, license: &str) {
    let mut expected = vec![
        license.to_owned(),
        "/usr/share/doc/shm-tools/README.md".into(),
    ];
    for tool in TOOLS {
        expected.extend([
            format!("/usr/bin/{tool}"),
            format!("/usr/share/man/man1/{tool}.1.gz"),
            format!("/usr/share/bash-completion/completions/{tool}"),
            format!("{zsh}/_{tool}"),
            format!("/usr/share/fish/vendor_completions.d/{tool}.fish"),
        ]);
    }
    for path in expected {
        assert!(files.contains(&path), "the package lacks {path}: {files:?}");
    }
    assert!(files
        .iter()
        .any(|f| f.starts_with("/usr/share/doc/shm-tools/docs/")));
}

/// A local image removed when dropped.
struct Image(String);

impl Drop for Image {
    fn drop(&mut self) {
        let _ = Docker.output(&["image", "rm", "--force", &self.0]);
    }
}

/// Every path of the container's root file system but the kernel's and
/// dpkg's own bookkeeping (its database, log and lock files).
const LIST: &str = "find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /tmp \
    -o -path /var/lib/dpkg -o -path /var/log \\) -prune -o -print | sort";

#[test]
fn the_deb_installs_works_and_purges_cleanly_in_debian() {
    let (deb, _) = packages();
    let docker = Docker::new();
    let image = Image(
        run_ok(
            Command::new(workspace().join("scripts/debian-image"))
                .arg(format!("{}:test", unique("debian")))
                .stderr(Stdio::inherit()),
        )
        .trim()
        .to_owned(),
    );
    let mount = format!("{}:/pkg/shm-tools.deb:ro", deb.display());
    let debian = docker.run_container("debian", &["-v", &mount], &image.0, &["sleep", "infinity"]);
    let sh = |script: &str| {
        let out = docker.output(&["exec", &debian.name, "bash", "-c", script]);
        assert!(out.status.success(), "{script}: {}", show_output(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let before = sh(LIST);
    sh("dpkg -i /pkg/shm-tools.deb");
    let files: BTreeSet<String> = sh("dpkg -L shm-tools").lines().map(str::to_owned).collect();
    expect_contents(
        &files,
        "/usr/share/zsh/vendor-completions",
        "/usr/share/doc/shm-tools/copyright",
    );

    for tool in TOOLS {
        // On the PATH, with the version and commit of the build.
        assert_eq!(sh(&format!("{tool} --version")).trim(), version_line(tool));
        // man finds the page and renders it.
        let page = sh(&format!("MANPAGER=cat MANWIDTH=1000 LC_ALL=C man {tool}"));
        for section in [
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "EXAMPLES",
            "/dev/shm/shm_file",
        ] {
            assert!(
                page.contains(section),
                "man {tool} lacks {section}:\n{page}"
            );
        }
        // bash-completion loads the completion on demand, as for a typed
        // `tool <TAB>` (status 124: loaded, complete again).
        let completion = sh(&format!(
            "source /usr/share/bash-completion/bash_completion && {{ _completion_loader {tool}; [ $? = 124 ]; }} && \
             complete -p {tool} && COMP_WORDS=({tool} --generate '') && COMP_CWORD=2 && \
             COMP_LINE='{tool} --generate ' && COMP_POINT=${{#COMP_LINE}} && \
             _{tool} {tool} '' --generate && echo \"${{COMPREPLY[*]}}\""
        ));
        assert!(
            completion.contains(&format!("-F _{tool} {tool}\n")),
            "{completion}"
        );
        assert!(completion.ends_with("man bash zsh fish\n"), "{completion}");
    }

    sh("dpkg --purge shm-tools");
    let after = sh(LIST);
    assert_eq!(before, after, "the purge left the file system changed");
    for file in &files {
        assert!(
            !before.lines().any(|l| l == file)
                || file.matches('/').count() < 4
                || !file.contains("shm"),
            "{file} was there before the install"
        );
    }
}

/// Every file and symbolic link under `root`, as absolute paths inside it,
/// but rpm's database.
fn tree(root: &Path) -> BTreeSet<String> {
    let out = run_ok(Command::new("find").arg(root).args([
        "(",
        "-path",
        "*/var/lib/rpm",
        "-o",
        "-path",
        "*/usr/lib/sysimage",
        ")",
        "-prune",
        "-o",
        "!",
        "-type",
        "d",
        "-print",
    ]));
    let prefix = root.to_str().unwrap();
    out.lines()
        .map(|l| l.strip_prefix(prefix).unwrap().to_owned())
        .collect()
}

#[test]
fn the_rpm_installs_runs_and_erases_cleanly_in_an_rpm_root() {
    let (_, rpm) = packages();
    let dir = TempDir::new("rpm-root");
    let root = dir.0.join("root");
    let rpm_in = |args: &[&str]| {
        let mut cmd = Command::new("rpm");
        cmd.arg("--root").arg(&root).args(args);
        cmd
    };
    run_ok(&mut rpm_in(&["--initdb"]));
    let before = tree(&root);
    // Its only needs are rpm's own features: no --nodeps.
    run_ok(rpm_in(&["-i"]).arg(rpm));
    let files: BTreeSet<String> = run_ok(&mut rpm_in(&["-ql", "shm-tools"]))
        .lines()
        .map(str::to_owned)
        .collect();
    expect_contents(
        &files,
        "/usr/share/zsh/site-functions",
        "/usr/share/licenses/shm-tools/LICENSE",
    );
    let installed = tree(&root);
    for file in &files {
        let path = root.join(file.trim_start_matches('/'));
        assert!(path.exists(), "{file} is listed but not installed");
    }
    for tool in TOOLS {
        // Static binaries: they run from the rpm root as they are.
        let installed_tool = root.join("usr/bin").join(tool);
        assert_eq!(
            run_ok(Command::new(&installed_tool).arg("--version")).trim(),
            version_line(tool)
        );
        let page = run_ok(
            Command::new("man")
                .arg("-l")
                .arg(root.join(format!("usr/share/man/man1/{tool}.1.gz")))
                .env("MANPAGER", "cat")
                .env("MANWIDTH", "1000")
                .env("LC_ALL", "C"),
        );
        assert!(page.contains("EXIT STATUS"), "{page}");
    }
    assert!(installed.len() > before.len());

    run_ok(&mut rpm_in(&["-e", "shm-tools"]));
    assert_eq!(tree(&root), before, "rpm -e left files behind");
    assert!(!root.join("usr/share/doc/shm-tools").exists());
    assert!(!root.join("usr/share/licenses/shm-tools").exists());
    let gone = rpm_in(&["-q", "shm-tools"]).output().unwrap();
    assert!(!gone.status.success(), "rpm still knows shm-tools");
}

#[test]
fn the_image_is_labelled_and_carries_the_man_pages() {
    let docker = Docker::new();
    images();
    let source = Command::new("git")
        .arg("-C")
        .arg(workspace())
        .args(["config", "--get", "remote.origin.url"])
        .output()
        .unwrap();
    let source = String::from_utf8(source.stdout).unwrap();
    for image in [IMAGE, BARE_IMAGE] {
        let label = |name: &str| {
            let format =
                format!("{{{{index .Config.Labels \"org.opencontainers.image.{name}\"}}}}");
            docker
                .ok(&["image", "inspect", "--format", &format, image])
                .trim()
                .to_owned()
        };
        assert_eq!(label("version"), VERSION, "{image}");
        assert_eq!(label("revision"), built_commit(), "{image}");
        assert_eq!(label("licenses"), "MIT", "{image}");
        assert_eq!(label("source"), source.trim(), "{image}");
        assert!(
            label("description").contains("shm_write and shm_read"),
            "{image}"
        );

        // The pages are the binaries' own, as man reads them (gzipped).
        let container = docker.named("man");
        docker.ok(&["create", "--name", &container.name, image]);
        for tool in TOOLS {
            let path = format!("{}:/usr/share/man/man1/{tool}.1.gz", container.name);
            let page = run_ok(Command::new("bash").args([
                "-o",
                "pipefail",
                "-c",
                &format!("docker cp '{path}' - | tar -xO | gzip -dc"),
            ]));
            let generated = run_ok(Command::new(bin(tool)).args(["--generate", "man"]));
            assert_eq!(
                page, generated,
                "{image}: {tool}.1.gz is not the binary's page"
            );
        }
    }
}
