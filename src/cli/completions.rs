//! `git exp completions SHELL` and the hidden `git exp __complete-runs`: shell
//! completion scripts generated from the clap command tree (clap_complete),
//! with run names completed from the repository at completion time.

use std::io::Write;

use clap::{Args, CommandFactory, ValueEnum};

use super::{Cli, CliError, Context};
use crate::store::Store;

/// Print a shell completion script (bash, zsh or fish) to stdout
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    pub shell: Shell,
}

/// The shells a script is written for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    /// bash, also for `git exp` in git's own bash completion
    Bash,
    /// zsh
    Zsh,
    /// fish
    Fish,
}

/// The commands whose positional arguments are runs.
const RUN_COMMANDS: &[&str] = &["show", "compare", "get", "artifacts", "rm", "rename", "push"];

/// The bash additions: run names for [`RUN_COMMANDS`] from `__complete-runs`,
/// everything else from clap's function (registered for `git-exp` by clap's
/// own `complete` line, renamed); `_git_exp` is the function git's bash
/// completion calls for `git exp`.
const BASH_EXTRA: &str = r#"
_git_exp_runs() {
    local cur="${COMP_WORDS[COMP_CWORD]}" sub="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            -C) ((i++)) ;;
            -*) ;;
            *) sub="${COMP_WORDS[i]}"; break ;;
        esac
    done
    case " @RUN_COMMANDS@ " in
        *" $sub "*)
            if [[ -n "$sub" && "$cur" != -* ]]; then
                local IFS=$'\n'
                COMPREPLY=($(compgen -W "$(git-exp __complete-runs 2>/dev/null)" -- "$cur"))
                return 0
            fi
            ;;
    esac
    _git_exp_clap "$@"
}

_git_exp() {
    # git's completion: COMP_WORDS is `git [options] exp ...`; complete it as
    # `git-exp ...`.
    local i
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ "${COMP_WORDS[i]}" == exp ]] && break
    done
    local COMP_WORDS=(git-exp "${COMP_WORDS[@]:i+1}")
    local COMP_CWORD=$((COMP_CWORD - i))
    _git_exp_runs git-exp "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
}
"#;

/// The fish additions: run names for [`RUN_COMMANDS`].
const FISH_EXTRA: &str = "
complete -c git-exp -n '__fish_seen_subcommand_from @RUN_COMMANDS@' -f -a '(git-exp __complete-runs 2>/dev/null)'
";

/// Writes the completion script for `args.shell` to `out`.
pub fn cmd_completions(args: CompletionsArgs, out: &mut dyn Write) -> Result<(), CliError> {
    // The scripts complete the program `git-exp` (git runs it for `git exp`);
    // clap's name `git exp` would not make a shell function name.
    let mut cmd = with_bin_name(Cli::command().name("git-exp"), "git-exp");
    let mut script = Vec::new();
    let extra = match args.shell {
        Shell::Bash => {
            // clap_complete's bash script mistakes the `-` of a program name
            // for a subcommand separator: generate for `gitexp`, then rename.
            let mut bash = with_bin_name(Cli::command().name("gitexp"), "gitexp");
            clap_complete::generate(clap_complete::Shell::Bash, &mut bash, "gitexp", &mut script);
            script = String::from_utf8_lossy(&script)
                .replace("_gitexp()", "_git_exp_clap()")
                .replace("complete -F _gitexp ", "complete -F _git_exp_runs ")
                .replace(" gitexp\n", " git-exp\n")
                .into_bytes();
            BASH_EXTRA
        }
        Shell::Zsh => {
            clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, "git-exp", &mut script);
            ""
        }
        Shell::Fish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, "git-exp", &mut script);
            FISH_EXTRA
        }
    };
    // clap's scripts offer hidden commands too; ours are internal.
    let script = String::from_utf8_lossy(&script);
    let hidden: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| s.is_hide_set())
        .map(|s| s.get_name().to_owned())
        .collect();
    for line in script.lines() {
        let mut line = line.to_owned();
        if line.trim_start().starts_with("opts=\"") {
            for name in &hidden {
                line = line.replace(&format!(" {name} "), " ").replace(&format!(" {name}\""), "\"");
            }
        }
        writeln!(out, "{line}")?;
    }
    out.write_all(extra.replace("@RUN_COMMANDS@", &RUN_COMMANDS.join(" ")).as_bytes())?;
    Ok(())
}

/// `cmd` and its subcommands named as the program `bin` runs them
/// (`git-exp show`); clap_complete names its functions after these.
fn with_bin_name(cmd: clap::Command, bin: &str) -> clap::Command {
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_owned()).collect();
    names.iter().fold(cmd.bin_name(bin), |cmd, name| {
        cmd.mut_subcommand(name, |sub| with_bin_name(sub, &format!("{bin} {name}")))
    })
}

/// Hidden `git exp __complete-runs`: the run names, one a line, for completion.
#[derive(Debug, Args)]
pub struct CompleteRunsArgs {}

/// Prints every run name; nothing (and success) outside a repository, so a
/// completion never shows an error.
pub fn cmd_complete_runs(ctx: &Context, out: &mut dyn Write) -> Result<(), CliError> {
    let Ok(store) = Store::discover(&ctx.cwd, &[]) else {
        return Ok(());
    };
    for (name, _) in store.list_refs().unwrap_or_default() {
        writeln!(out, "{}", crate::text::line(&name))?;
    }
    Ok(())
}
