//! The terminal side of every command, settled once before it runs: the
//! global `--quiet`, `--color` and `--no-pager` flags, whether to colour
//! (git's rules: flag, `NO_COLOR`, `CLICOLOR_FORCE`, `color.exp`/`color.ui`,
//! then a terminal or `GIT_PAGER_IN_USE`), the terminal width, which pager
//! to use (git's: `GIT_PAGER`, `pager.exp.<cmd>`, `core.pager`, `PAGER`,
//! `less`) and the pager process itself. stdout carries data; `status`,
//! `warning` and `hint` lines go to the stderr writer a command is given,
//! each through [`crate::text`]'s terminal rule.
//!
//! The decisions are pure functions of (flag, environment, git config,
//! terminal), so they are tested without a terminal.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use clap::{Args, ValueEnum};

use crate::text;

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal (or git pages git-exp's output)
    Auto,
    /// Always, even into a pipe or file
    Always,
    /// Never
    Never,
}

/// The options every command takes, before or after its name.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Print no status lines or progress bars on stderr (warnings and errors stay)
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// When to colour output (default: git's color.exp, then color.ui, then auto)
    #[arg(long, value_enum, value_name = "WHEN", global = true)]
    pub color: Option<ColorChoice>,
    /// Do not page long output (show, compare, list)
    #[arg(long, global = true)]
    pub no_pager: bool,
}

/// git config values git-exp's terminal settings read, as `git config`
/// prints them (keys lower-case but for the subsection, `None` for a key
/// given without a value, which git reads as true).
#[derive(Debug, Clone, Default)]
pub struct TermConfig {
    entries: Vec<(String, Option<String>)>,
}

/// The config keys [`TermConfig::read`] asks git for.
const CONFIG_KEYS: &str = r"^(color\.exp|color\.ui|core\.pager|pager\.exp\..*)$";

impl TermConfig {
    /// Builds one from `(key, value)` pairs (tests, and [`TermConfig::read`]).
    pub fn from_entries(entries: Vec<(String, Option<String>)>) -> TermConfig {
        TermConfig { entries }
    }

    /// Reads the keys through the user's `git config`, run in `cwd` (so the
    /// repository's, the user's and `git -c` values all count). Without git,
    /// or outside a repository, what git can read (or nothing).
    pub fn read(cwd: &Path) -> TermConfig {
        let output = Command::new("git")
            .args(["config", "--null", "--get-regexp", CONFIG_KEYS])
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        let Ok(output) = output else { return TermConfig::default() };
        let text = String::from_utf8_lossy(&output.stdout);
        // With --null each entry is `key\nvalue\0`, or `key\0` without a value.
        let entries = text
            .split('\0')
            .filter(|e| !e.is_empty())
            .map(|e| match e.split_once('\n') {
                Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                None => (e.to_owned(), None),
            })
            .collect();
        TermConfig { entries }
    }

    /// The last value of `key` (git's rule: the last one wins); `Some(None)`
    /// when it is set without a value.
    fn get(&self, key: &str) -> Option<Option<&str>> {
        self.entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_deref())
    }
}

/// The value of `name` in `vars`, when set and not empty.
fn var<'a>(vars: &'a [(String, String)], name: &str) -> Option<&'a str> {
    vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// Reads a `color.*` value as git does: `always` colours, `never`/`false`
/// does not, `auto`/`true` (and a key without a value) leave it to the
/// terminal; anything else counts as not set.
fn config_color(value: Option<&str>) -> Option<ColorChoice> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("auto" | "true" | "yes" | "on" | "1") => Some(ColorChoice::Auto),
        Some("always") => Some(ColorChoice::Always),
        Some("never" | "false" | "no" | "off" | "0") => Some(ColorChoice::Never),
        Some(_) => None,
    }
}

/// Whether to colour: `--color` first, then `NO_COLOR` (set, not empty),
/// then `CLICOLOR_FORCE` (set, not empty, not `0`), then git config
/// `color.exp`, then `color.ui`, then auto: colour when stdout is a terminal
/// or `GIT_PAGER_IN_USE` is set (git is paging git-exp's output).
pub fn use_color(
    flag: Option<ColorChoice>,
    vars: &[(String, String)],
    config: &TermConfig,
    stdout_is_terminal: bool,
) -> bool {
    let choice = flag
        .or_else(|| var(vars, "NO_COLOR").map(|_| ColorChoice::Never))
        .or_else(|| var(vars, "CLICOLOR_FORCE").filter(|v| *v != "0").map(|_| ColorChoice::Always))
        .or_else(|| config.get("color.exp").and_then(config_color))
        .or_else(|| config.get("color.ui").and_then(config_color))
        .unwrap_or(ColorChoice::Auto);
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stdout_is_terminal || var(vars, "GIT_PAGER_IN_USE").is_some(),
    }
}

/// Reads `pager.exp.<cmd>` as git reads `pager.<cmd>`: a boolean turns
/// paging on or off, anything else is the pager command.
enum PagerConfig {
    On,
    Off,
    Command(String),
}

fn pager_config(config: &TermConfig, command: &str) -> Option<PagerConfig> {
    let value = config.get(&format!("pager.exp.{command}"))?;
    Some(match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("true" | "yes" | "on" | "1") => PagerConfig::On,
        Some("false" | "no" | "off" | "0") => PagerConfig::Off,
        Some(_) => PagerConfig::Command(value.unwrap_or_default().to_owned()),
    })
}

/// The pager command for `command` (a command that pages: `show`, `compare`,
/// `list`), or `None` for no pager. None when `--no-pager` was given, stdout
/// is not a terminal, `GIT_PAGER_IN_USE` is set (git pages already) or
/// `pager.exp.<command>` is false. Else the first of `GIT_PAGER`,
/// `pager.exp.<command>` (when a command), `core.pager`, `PAGER`, `less`;
/// `cat` or an empty one means no pager, as in git.
pub fn pager_command(
    command: &str,
    no_pager: bool,
    vars: &[(String, String)],
    config: &TermConfig,
    stdout_is_terminal: bool,
) -> Option<String> {
    if no_pager || !stdout_is_terminal || var(vars, "GIT_PAGER_IN_USE").is_some() {
        return None;
    }
    let configured = match pager_config(config, command) {
        Some(PagerConfig::Off) => return None,
        Some(PagerConfig::Command(c)) => Some(c),
        Some(PagerConfig::On) | None => None,
    };
    // GIT_PAGER and PAGER count even when empty (they then turn paging off).
    let set = |name: &str| vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let pager = set("GIT_PAGER")
        .or(configured)
        .or_else(|| config.get("core.pager").map(|v| v.unwrap_or_default().to_owned()))
        .or_else(|| set("PAGER"))
        .unwrap_or_else(|| "less".to_owned());
    let trimmed = pager.trim();
    if trimmed.is_empty() || trimmed == "cat" {
        None
    } else {
        Some(pager)
    }
}

/// Characters that make git run a pager through the shell (git's
/// `run-command.c`); a pager without any is started directly.
const SHELL_SYNTAX: &str = "|&;<>()$`\\\"' \t\n*?[#~=%";

/// Variables a pager gets when they are not set already, as git sets them:
/// `less` quits when the output fits one screen, shows colour and does not
/// clear the screen; `lv` shows colour.
const PAGER_ENV: &[(&str, &str)] = &[("LESS", "FRX"), ("LV", "-c")];

/// Where output goes and how it may look, settled once per command.
#[derive(Debug, Clone)]
pub struct Ui {
    /// stdout is a terminal (also when a pager now stands in front of it).
    pub is_terminal: bool,
    /// Colour the decoration git-exp adds (headers, status words).
    pub color: bool,
    /// Terminal width, when known (`COLUMNS` overrides the terminal's).
    pub width: Option<u16>,
    /// `--quiet`: no status lines or progress bars.
    pub quiet: bool,
    /// The pager command for this command's stdout, when it pages.
    pub pager: Option<String>,
}

impl Ui {
    /// Settles the terminal state for `command` (its name, when it pages:
    /// see [`pager_command`]). git config is read only when a flag or the
    /// environment did not decide everything.
    pub fn resolve(
        global: &GlobalArgs,
        vars: &[(String, String)],
        cwd: &Path,
        pages: Option<&str>,
    ) -> Ui {
        let is_terminal = std::io::stdout().is_terminal();
        let colour_decided = global.color.is_some()
            || var(vars, "NO_COLOR").is_some()
            || var(vars, "CLICOLOR_FORCE").is_some_and(|v| v != "0");
        let may_page = pages.is_some()
            && !global.no_pager
            && is_terminal
            && var(vars, "GIT_PAGER_IN_USE").is_none();
        let config =
            if colour_decided && !may_page { TermConfig::default() } else { TermConfig::read(cwd) };
        let color = use_color(global.color, vars, &config, is_terminal);
        let pager =
            pages.and_then(|cmd| pager_command(cmd, global.no_pager, vars, &config, is_terminal));
        let width = var(vars, "COLUMNS").and_then(|v| v.parse().ok()).or_else(|| {
            if is_terminal {
                terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0)
            } else {
                None
            }
        });
        Ui { is_terminal, color, width, quiet: global.quiet, pager }
    }

    /// No terminal: no colour, no pager, no width, not quiet.
    pub fn plain() -> Ui {
        Ui { is_terminal: false, color: false, width: None, quiet: false, pager: None }
    }

    /// A status line (`Deleted run x.`), unless `--quiet`.
    pub fn status(&self, err: &mut dyn Write, message: &str) {
        if !self.quiet {
            let _ = writeln!(err, "{}", text::lines(message));
        }
    }
}

/// A `warning: ` line on `err`; said even with `--quiet`.
pub fn warning(err: &mut dyn Write, message: &str) {
    let _ = writeln!(err, "warning: {}", text::lines(message));
}

/// A `hint: ` line on `err`; said even with `--quiet`.
pub fn hint(err: &mut dyn Write, message: &str) {
    let _ = writeln!(err, "hint: {}", text::lines(message));
}

/// An `error: ` line on `err`, for an error that does not end the command (a
/// failed command's error is printed by `cli::error::print`).
pub fn error(err: &mut dyn Write, message: &str) {
    let _ = writeln!(err, "error: {}", text::lines(message));
}

/// A running pager with stdout piped into it. While it runs, Ctrl-C and
/// Ctrl-\\ belong to it: git-exp (in the same process group) does not die
/// of them and leave the pager behind on the terminal, as git does not.
pub struct Pager {
    child: Child,
    held: Vec<signal_hook::SigId>,
}

impl Pager {
    /// Starts `command` as git does: through `sh -c` when it holds shell
    /// syntax, else directly (so a pager that is not installed is an error
    /// here, not an empty screen), with `LESS`/`LV` set when unset and
    /// `GIT_PAGER_IN_USE=true`. An error when it cannot start (output then
    /// goes to stdout, as in git).
    pub fn spawn(command: &str, vars: &[(String, String)]) -> std::io::Result<Pager> {
        let mut cmd = if command.contains(|c| SHELL_SYNTAX.contains(c)) {
            let mut sh = Command::new("sh");
            sh.arg("-c").arg(command);
            sh
        } else {
            Command::new(command)
        };
        cmd.stdin(Stdio::piped());
        for (name, value) in PAGER_ENV {
            if !vars.iter().any(|(k, _)| k == name) {
                cmd.env(name, value);
            }
        }
        cmd.env("GIT_PAGER_IN_USE", "true");
        let child = cmd.spawn()?;
        let ignored = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let held = [signal_hook::consts::SIGINT, signal_hook::consts::SIGQUIT]
            .into_iter()
            .filter_map(|signal| signal_hook::flag::register(signal, ignored.clone()).ok())
            .collect();
        Ok(Pager { child, held })
    }

    /// The pager's input; `None` once taken.
    pub fn input(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// Waits for the pager to end (its input must be closed first), so the
    /// shell prompt does not come back while it still shows the output.
    pub fn wait(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        for id in self.held.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Wraps `text` in a style when `on`: decoration git-exp adds, never text
/// from runs unescaped.
pub fn paint(on: bool, style: anstyle::Style, text: &str) -> String {
    if on {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// Bold, for headers.
pub const BOLD: anstyle::Style = anstyle::Style::new().bold();
/// Dimmed, for labels.
pub const DIM: anstyle::Style = anstyle::Style::new().dimmed();

/// The colour of a run's status word: green finished, red failed or
/// crashed, yellow killed, cyan running.
pub fn status_style(status: crate::store::format::Status) -> anstyle::Style {
    use crate::store::format::Status;
    let colour = match status {
        Status::Finished => anstyle::AnsiColor::Green,
        Status::Failed | Status::Crashed => anstyle::AnsiColor::Red,
        Status::Killed => anstyle::AnsiColor::Yellow,
        Status::Running => anstyle::AnsiColor::Cyan,
    };
    anstyle::Style::new().fg_color(Some(colour.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn config(pairs: &[(&str, Option<&str>)]) -> TermConfig {
        TermConfig::from_entries(
            pairs.iter().map(|(k, v)| (k.to_string(), v.map(str::to_owned))).collect(),
        )
    }

    const NONE: &[(&str, Option<&str>)] = &[];

    #[test]
    fn colour_follows_the_terminal_by_default() {
        assert!(use_color(None, &[], &config(NONE), true));
        assert!(!use_color(None, &[], &config(NONE), false));
    }

    #[test]
    fn colour_flag_beats_environment_and_config() {
        let env = vars(&[("NO_COLOR", "1")]);
        let cfg = config(&[("color.ui", Some("never"))]);
        assert!(use_color(Some(ColorChoice::Always), &env, &cfg, false));
        let env = vars(&[("CLICOLOR_FORCE", "1")]);
        assert!(!use_color(Some(ColorChoice::Never), &env, &cfg, true));
        assert!(!use_color(Some(ColorChoice::Auto), &[], &config(NONE), false));
    }

    #[test]
    fn no_color_beats_clicolor_force_and_config_and_terminal() {
        let env = vars(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]);
        assert!(!use_color(None, &env, &config(&[("color.ui", Some("always"))]), true));
        // Empty means unset.
        assert!(use_color(None, &vars(&[("NO_COLOR", "")]), &config(NONE), true));
    }

    #[test]
    fn clicolor_force_colours_a_pipe_unless_zero() {
        assert!(use_color(None, &vars(&[("CLICOLOR_FORCE", "1")]), &config(NONE), false));
        assert!(!use_color(None, &vars(&[("CLICOLOR_FORCE", "0")]), &config(NONE), false));
        let never = config(&[("color.ui", Some("never"))]);
        assert!(use_color(None, &vars(&[("CLICOLOR_FORCE", "yes")]), &never, false));
    }

    #[test]
    fn color_exp_beats_color_ui() {
        let cfg = config(&[("color.ui", Some("never")), ("color.exp", Some("always"))]);
        assert!(use_color(None, &[], &cfg, false));
        let cfg = config(&[("color.ui", Some("always")), ("color.exp", Some("false"))]);
        assert!(!use_color(None, &[], &cfg, true));
        // `true` means auto, as in git.
        let cfg = config(&[("color.ui", Some("always")), ("color.exp", Some("true"))]);
        assert!(!use_color(None, &[], &cfg, false));
        assert!(use_color(None, &[], &config(&[("color.ui", Some("always"))]), false));
        // A value git-exp cannot read falls through to the next rule.
        let cfg = config(&[("color.ui", Some("always")), ("color.exp", Some("purple"))]);
        assert!(use_color(None, &[], &cfg, false));
    }

    #[test]
    fn git_pager_in_use_keeps_colour_in_auto() {
        let env = vars(&[("GIT_PAGER_IN_USE", "true")]);
        assert!(use_color(None, &env, &config(NONE), false));
        assert!(!use_color(None, &env, &config(&[("color.ui", Some("never"))]), false));
    }

    #[test]
    fn pager_defaults_to_less_on_a_terminal_only() {
        assert_eq!(pager_command("list", false, &[], &config(NONE), true).as_deref(), Some("less"));
        assert_eq!(pager_command("list", false, &[], &config(NONE), false), None);
        assert_eq!(pager_command("list", true, &[], &config(NONE), true), None);
        let env = vars(&[("GIT_PAGER_IN_USE", "true")]);
        assert_eq!(pager_command("list", false, &env, &config(NONE), true), None);
    }

    #[test]
    fn pager_order_is_gits() {
        let cfg = config(&[("core.pager", Some("core")), ("pager.exp.show", Some("cmd"))]);
        let env = vars(&[("GIT_PAGER", "gp"), ("PAGER", "p")]);
        assert_eq!(pager_command("show", false, &env, &cfg, true).as_deref(), Some("gp"));
        let env = vars(&[("PAGER", "p")]);
        assert_eq!(pager_command("show", false, &env, &cfg, true).as_deref(), Some("cmd"));
        assert_eq!(pager_command("list", false, &env, &cfg, true).as_deref(), Some("core"));
        assert_eq!(pager_command("list", false, &env, &config(NONE), true).as_deref(), Some("p"));
    }

    #[test]
    fn pager_exp_false_turns_paging_off_and_true_keeps_the_default() {
        let env = vars(&[("GIT_PAGER", "gp")]);
        let off = config(&[("pager.exp.list", Some("false"))]);
        assert_eq!(pager_command("list", false, &env, &off, true), None);
        assert_eq!(pager_command("show", false, &env, &off, true).as_deref(), Some("gp"));
        let on = config(&[("pager.exp.list", None), ("core.pager", Some("more"))]);
        assert_eq!(pager_command("list", false, &[], &on, true).as_deref(), Some("more"));
    }

    #[test]
    fn cat_or_empty_pager_means_none() {
        for pager in ["cat", "", "  "] {
            let env = vars(&[("GIT_PAGER", pager), ("PAGER", "less")]);
            assert_eq!(pager_command("list", false, &env, &config(NONE), true), None, "{pager:?}");
        }
        let cfg = config(&[("core.pager", Some("cat"))]);
        assert_eq!(pager_command("list", false, &[], &cfg, true), None);
    }

    #[test]
    fn status_is_quiet_with_quiet_but_warnings_are_not() {
        let ui = Ui { quiet: true, ..Ui::plain() };
        let mut err = Vec::new();
        ui.status(&mut err, "Deleted run a.");
        warning(&mut err, "bad\x1b[31m");
        hint(&mut err, "two\nlines\u{202e}");
        error(&mut err, "e");
        let loud = Ui { quiet: false, ..ui };
        loud.status(&mut err, "Deleted run \x07a.");
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "warning: bad<U+001B>[31m\nhint: two\nlines<U+202E>\nerror: e\nDeleted run <U+0007>a.\n"
        );
    }

    #[test]
    fn paint_adds_escapes_only_when_on() {
        assert_eq!(paint(false, BOLD, "x"), "x");
        assert_eq!(paint(true, BOLD, "x"), "\x1b[1mx\x1b[0m");
        let failed = status_style(crate::store::format::Status::Failed);
        assert_eq!(paint(true, failed, "failed"), "\x1b[31mfailed\x1b[0m");
    }
}
