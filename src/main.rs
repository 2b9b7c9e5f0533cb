//! The `git-exp` binary: git runs it for `git exp <command>`.

fn main() -> std::process::ExitCode {
    git_exp::cli::main()
}
