//! `git exp install-man` and `git exp __reference`: man pages for every
//! command (clap_mangen) and the Markdown command reference
//! (docs/cli-reference.md), both generated from the clap command tree so they
//! cannot drift from `--help`.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};

use super::{Cli, CliError, Context};

/// Install man pages, so `git help exp` and `man git-exp-run` work
#[derive(Debug, Args)]
pub struct InstallManArgs {
    /// Install under DIR/man/man1 (default: $XDG_DATA_HOME, else ~/.local/share)
    #[arg(long, value_name = "DIR")]
    pub prefix: Option<PathBuf>,
}

/// The command tree as the man pages and the reference name it: `git-exp` for
/// the top (git looks up the page `git-exp` for `git help exp`), `git-exp-run`
/// and so on below it.
fn command_tree() -> clap::Command {
    let mut cmd = Cli::command().display_name("git-exp").term_width(100);
    cmd.build();
    cmd
}

/// The visible commands, depth first, the top one first; not clap's `help`,
/// which only repeats them.
fn visible(cmd: &clap::Command) -> Vec<&clap::Command> {
    let mut all = vec![cmd];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        all.extend(visible(sub));
    }
    all
}

/// The man pages: a file name (`git-exp-run.1`) and its roff text each.
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>, std::io::Error> {
    let tree = command_tree();
    let mut pages = Vec::new();
    for cmd in visible(&tree) {
        let title = cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned();
        let man = clap_mangen::Man::new(cmd.clone()).title(title.clone());
        let mut roff = Vec::new();
        man.render(&mut roff)?;
        pages.push((format!("{title}.1"), roff));
    }
    Ok(pages)
}

/// Writes every man page to `<prefix>/man/man1/` and says where, with a hint
/// when that directory is not on the man path.
pub fn cmd_install_man(
    args: InstallManArgs,
    ctx: &Context,
    err: &mut dyn Write,
) -> Result<(), CliError> {
    let var = |key: &str| ctx.vars.iter().find(|(k, v)| k == key && !v.is_empty()).map(|(_, v)| v);
    let prefix = match (&args.prefix, var("XDG_DATA_HOME"), var("HOME")) {
        (Some(p), _, _) => ctx.cwd.join(p),
        (None, Some(xdg), _) => PathBuf::from(xdg),
        (None, None, Some(home)) => Path::new(home).join(".local/share"),
        (None, None, None) => {
            return Err(CliError::user("cannot tell where to install man pages: HOME is not set")
                .hint("name a directory with --prefix DIR"))
        }
    };
    let man_dir = prefix.join("man");
    let dir = man_dir.join("man1");
    fs_err::create_dir_all(&dir)?;
    let pages = man_pages()?;
    for (name, roff) in &pages {
        fs_err::write(dir.join(name), roff)?;
    }
    writeln!(err, "Wrote {} man pages to {}", pages.len(), dir.display())?;
    if !on_man_path(&man_dir, var("MANPATH").map(String::as_str)) {
        writeln!(
            err,
            "hint: {} is not on the man path; add it: export MANPATH=\"{}:$MANPATH\"",
            man_dir.display(),
            man_dir.display()
        )?;
    }
    Ok(())
}

/// Whether `man` looks in `dir`: it is in MANPATH, or, without MANPATH, in
/// what man-db's `manpath` derives from PATH and its configuration.
fn on_man_path(dir: &Path, manpath_var: Option<&str>) -> bool {
    let listed = match manpath_var {
        Some(v) => v.to_owned(),
        None => std::process::Command::new("manpath")
            .arg("-q")
            .stderr(std::process::Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default(),
    };
    let wanted = fs_err::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    listed
        .split(':')
        .filter(|p| !p.is_empty())
        .any(|p| fs_err::canonicalize(p).is_ok_and(|p| p == wanted))
}

/// Hidden `git exp __reference`: prints docs/cli-reference.md.
#[derive(Debug, Args)]
pub struct ReferenceArgs {}

/// Prints the command reference (Markdown) to `out`.
pub fn cmd_reference(out: &mut dyn Write) -> Result<(), CliError> {
    out.write_all(reference().as_bytes())?;
    Ok(())
}

/// The command reference: each visible command's long help, in the order of
/// `git exp --help`.
pub fn reference() -> String {
    let tree = command_tree();
    let mut md = String::from(
        "# Command reference\n\n\
         <!-- Generated from the command definitions: do not edit. Regenerate with\n     \
         cargo run -q -- __reference > docs/cli-reference.md -->\n\n\
         The `--help` of every command. [commands.md](commands.md) explains them\n\
         with examples.\n",
    );
    for cmd in visible(&tree) {
        let heading = cmd.get_bin_name().unwrap_or(cmd.get_name());
        let mut cmd = cmd.clone();
        let help = cmd.render_long_help().to_string();
        let help: Vec<&str> = help.lines().map(str::trim_end).collect();
        let _ = write!(md, "\n## {heading}\n\n```text\n{}\n```\n", help.join("\n").trim_end());
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_in_manpath_is_on_the_man_path() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("man");
        fs_err::create_dir_all(&dir).expect("mkdir");
        let listed = format!("/nonexistent:{}:", dir.display());
        assert!(on_man_path(&dir, Some(&listed)));
        assert!(!on_man_path(&dir, Some("/nonexistent:")));
    }

    #[test]
    fn every_visible_command_has_a_page_and_a_section() {
        let pages = man_pages().expect("pages");
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        let reference = reference();
        for sub in Cli::command().get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = sub.get_name();
            assert!(names.contains(&format!("git-exp-{name}.1").as_str()), "{name}: {names:?}");
            assert!(reference.contains(&format!("\n## git exp {name}\n")), "{name}");
        }
        assert!(!names.iter().any(|n| n.contains("__") || n.contains("sentinel")), "{names:?}");
    }
}
