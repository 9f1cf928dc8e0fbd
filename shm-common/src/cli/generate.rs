//! `--generate man|bash|zsh|fish`: the man page and the shell completions,
//! made from the very clap command that parses the flags, so neither can
//! drift from them, and packagers need no build step to get them.

use std::io::{self, Write};

use clap::{Arg, ArgMatches, Command};
use clap_complete::Shell;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

use super::console;
use super::exit::{Exit, Tool};
use super::messages::manual;

/// What `--generate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Generate {
    /// The man page, in roff.
    Man,
    /// A bash completion script.
    Bash,
    /// A zsh completion script.
    Zsh,
    /// A fish completion script.
    Fish,
}

const ID: &str = "generate";

/// The `--generate` flag, which needs no other flag and takes none.
pub(super) fn arg() -> Arg {
    Arg::new(ID)
        .long(ID)
        .value_name("WHAT")
        .value_parser(clap::value_parser!(Generate))
        .exclusive(true)
        .help(manual::GENERATE_HELP)
}

/// What `--generate` asked for, if it was given.
pub(super) fn asked(matches: &ArgMatches) -> Option<Generate> {
    matches.get_one::<Generate>(ID).copied()
}

/// Print `what` for `tool`, whose command line is `command`, and return
/// the status to exit with.
pub(super) fn run(command: Command, tool: Tool, what: Generate) -> Exit {
    let text = render(command, tool, what);
    match console::print_streamed(|out| out.write_all(&text)) {
        Ok(()) => Exit::Ok,
        Err(e) => super::failure::report(tool.name(), e.into()),
    }
}

/// `what` for `tool`, made in memory: clap_complete panics when its
/// writer fails, so it never writes to stdout itself.
fn render(command: Command, tool: Tool, what: Generate) -> Vec<u8> {
    let mut text = Vec::new();
    let shell = match what {
        Generate::Man => {
            man(command, tool, &mut text).expect("a Vec takes every write");
            return text;
        }
        Generate::Bash => Shell::Bash,
        Generate::Zsh => Shell::Zsh,
        Generate::Fish => Shell::Fish,
    };
    clap_complete::generate(shell, &mut command.clone(), tool.name(), &mut text);
    text
}

/// The man page: clap's sections for the flags, then the exit statuses
/// (the list `--help` shows), the environment, the files and the
/// walkthrough.
fn man(command: Command, tool: Tool, out: &mut dyn Write) -> io::Result<()> {
    let page = Man::new(command).manual(manual::MANUAL);
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    let mut roff = Roff::new();
    section(&mut roff, "EXIT STATUS");
    for exit in tool.statuses() {
        tagged(&mut roff, &exit.code().to_string(), exit.meaning(tool));
    }
    section(&mut roff, "ENVIRONMENT");
    let (intro, variables) = manual::environment(tool);
    roff.text([roman(intro)]);
    for (name, meaning) in variables {
        tagged(&mut roff, name, meaning);
    }
    section(&mut roff, "FILES");
    for (path, meaning) in manual::files(tool) {
        tagged(&mut roff, path, meaning);
    }
    section(&mut roff, "EXAMPLES");
    for (what, command) in manual::EXAMPLES {
        roff.control("PP", []).text([roman(*what)]);
        roff.control("RS", ["4"]).control("nf", []);
        roff.text([bold(*command)]);
        roff.control("fi", []).control("RE", []);
    }
    roff.to_writer(out)?;
    page.render_version_section(out)
}

fn section(roff: &mut Roff, title: &str) {
    roff.control("SH", [title]);
}

fn tagged(roff: &mut Roff, tag: &str, text: &str) {
    roff.control("TP", []).text([bold(tag)]).text([roman(text)]);
}
