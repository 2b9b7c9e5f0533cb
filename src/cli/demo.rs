//! `git exp demo`: makes a scratch repository with a small, dependency-free
//! Python training script, tracks a few runs of it at different learning rates
//! through `git exp run`, and prints `git exp list`. The quickest way to see
//! what git-exp records.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use clap::Args;

use super::error::CliError;
use super::Context;

const TRAIN_PY: &str = include_str!("../../examples/demo/train.py");

/// Track a few runs of a small example in a scratch repository
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to make the repository (default: a new directory under the system temp dir)
    pub dir: Option<PathBuf>,
    /// Python interpreter to use
    #[arg(long, default_value = "python3")]
    pub python: String,
}

/// Runs `git exp demo`.
pub fn cmd_demo(args: DemoArgs, ctx: &Context, err: &mut dyn Write) -> Result<u8, CliError> {
    let dir = match args.dir {
        Some(d) => ctx.cwd.join(d),
        None => {
            let d = tempfile::Builder::new().prefix("git-exp-demo-").tempdir()?;
            d.keep()
        }
    };
    fs_err::create_dir_all(&dir)?;
    if fs_err::read_dir(&dir)?.next().is_some() {
        return Err(CliError::user(format!("{} is not empty", dir.display()))
            .hint("give the demo an empty or new directory"));
    }
    let git = |argv: &[&str]| -> Result<(), CliError> {
        let status = Command::new("git")
            .args(argv)
            .current_dir(&dir)
            .env("GIT_AUTHOR_NAME", "git-exp demo")
            .env("GIT_AUTHOR_EMAIL", "demo@example.invalid")
            .env("GIT_COMMITTER_NAME", "git-exp demo")
            .env("GIT_COMMITTER_EMAIL", "demo@example.invalid")
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|e| CliError::user(format!("cannot run git: {e}")).hint("install git"))?;
        if !status.success() {
            return Err(CliError::user(format!("git {} failed", argv.join(" "))));
        }
        Ok(())
    };
    git(&["init", "-q", "-b", "main"])?;
    fs_err::write(dir.join("train.py"), TRAIN_PY)?;
    fs_err::write(dir.join(".gitignore"), "__pycache__/\n")?;
    git(&["add", "."])?;
    git(&["commit", "-q", "-m", "Add a small training script"])?;
    let _ = writeln!(err, "git-exp demo: repository at {}", dir.display());
    let exe = std::env::current_exe()?;
    for lr in ["0.03", "0.1", "0.3"] {
        let name = format!("lr-{lr}");
        let _ = writeln!(
            err,
            "\n$ git exp run -n {name} -p lr={lr} -p epochs=30 -t demo -- {} train.py --lr {{lr}} --epochs {{epochs}}",
            args.python
        );
        let status = Command::new(&exe)
            .args(["run", "-n", &name, "-p", &format!("lr={lr}"), "-p", "epochs=30", "-t", "demo"])
            .args(["--", &args.python, "train.py", "--lr", "{lr}", "--epochs", "{epochs}"])
            .current_dir(&dir)
            .stdout(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            return Err(CliError::user(format!("the demo run {name} failed")).hint(format!(
                "is `{}` a working Python 3? pass another with --python",
                args.python
            )));
        }
    }
    let _ = writeln!(err, "\n$ git exp list");
    let status = Command::new(&exe).arg("list").current_dir(&dir).status()?;
    let _ = writeln!(
        err,
        "\nTry: cd {} && {} show @ && git log --oneline refs/experiments/lr-0.1\n\
         (`cargo install --locked --path .` puts git-exp on PATH, so that `git exp show @` works too.)",
        dir.display(),
        exe.display()
    );
    Ok(if status.success() { 0 } else { 1 })
}
