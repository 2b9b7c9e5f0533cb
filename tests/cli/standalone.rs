//! `git exp start` / `git exp finish` (runs tracked by their own process) and
//! the Python client that `git exp run` puts on a command's PYTHONPATH.

use std::process::{Command, Stdio};

use crate::common::{stderr, stdout, TestRepo};

/// A process that lives until killed, to own a started run.
struct Owner(std::process::Child);

impl Owner {
    fn spawn() -> Owner {
        Owner(Command::new("sleep").arg("300").stdin(Stdio::null()).spawn().expect("sleep runs"))
    }
    fn pid(&self) -> String {
        self.0.id().to_string()
    }
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.kill();
    }
}

fn start(repo: &TestRepo, owner: &Owner, extra: &[&str]) -> serde_json::Value {
    let pid = owner.pid();
    let mut args = vec!["start", "--format", "json", "--pid", &pid];
    args.extend_from_slice(extra);
    serde_json::from_str(&repo.exp_ok(&args)).expect("start prints JSON")
}

#[test]
fn a_started_run_is_running_until_finished_with_its_events_and_console() {
    let repo = TestRepo::new();
    let owner = Owner::spawn();
    let s = start(
        &repo,
        &owner,
        &["-n", "nb", "-p", "lr=0.5", "-t", "notebook", "--", "python3", "x.py"],
    );
    assert_eq!(s["name"], "nb");
    let dir = std::path::PathBuf::from(s["dir"].as_str().unwrap());
    let params: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s["params"].as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(params, serde_json::json!({"lr": 0.5}));
    let list = repo.list_json();
    assert_eq!(list[0]["name"], "nb");
    assert_eq!(list[0]["status"], "running");

    let events = s["events"].as_str().unwrap();
    std::fs::write(
        events,
        "{\"loss\": 2.0, \"_step\": 0}\n{\"loss\": 1.0, \"_summary\": {\"best\": 1}}\n",
    )
    .unwrap();
    std::fs::write(dir.join("console.log"), "epoch 1\nepoch 2\n").unwrap();
    let id = s["id"].as_str().unwrap();
    let out =
        repo.exp(&["finish", id, "--status", "failed", "--exit-code", "3", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let done: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(done["name"], "nb");
    assert_eq!(done["status"], "failed");
    assert!(stderr(&out).contains("git-exp: run nb failed in"), "{}", stderr(&out));
    assert!(!dir.exists(), "the live directory is removed once committed");

    let exp = repo.show_file("nb", "exp.toml");
    assert!(exp.contains("status = \"failed\""), "{exp}");
    assert!(exp.contains("exit_code = 3"), "{exp}");
    assert!(exp.contains("command = [\"python3\", \"x.py\"]"), "{exp}");
    assert_eq!(repo.show_file("nb", "output.log"), "epoch 1\nepoch 2\n");
    let csv = repo.show_file("nb", "metrics.csv");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(repo.show_file("nb", "summary.toml").contains("best = 1"));
    assert!(repo.show_file("nb", "config.toml").contains("lr = 0.5"));
    repo.fsck();

    // Finishing twice is an error that says what happened.
    let again = repo.exp(&["finish", id]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).starts_with("error: no live run has the id"), "{}", stderr(&again));
}

#[test]
fn a_run_whose_owner_dies_is_committed_as_crashed() {
    let repo = TestRepo::new();
    let mut owner = Owner::spawn();
    let s = start(&repo, &owner, &["-n", "lost"]);
    std::fs::write(s["events"].as_str().unwrap(), "{\"loss\": 2.0}\n").unwrap();
    assert_eq!(repo.list_json()[0]["status"], "running");
    owner.kill();
    let out = repo.exp(&["list", "--format", "json"]);
    assert!(stderr(&out).contains("recovered run lost"), "{}", stderr(&out));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list[0]["status"], "crashed");
    assert_eq!(repo.show_file("lost", "metrics.csv").lines().count(), 2);
}

#[test]
fn start_refuses_a_dead_process_and_finish_an_unknown_id() {
    let repo = TestRepo::new();
    let out = repo.exp(&["start", "--pid", "999999999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: no process with id 999999999"), "{}", stderr(&out));
    let out = repo.exp(&["finish", "../../etc"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no live run has the id '../../etc'"), "{}", stderr(&out));
    // Neither left anything behind.
    assert!(repo.list_json().is_empty());
    let outside = tempfile::tempdir().unwrap();
    let out = repo.cmd_in(outside.path(), &["start"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
}

#[test]
fn python_commands_can_import_the_client_and_the_wandb_shim_on_request() {
    let repo = TestRepo::new();
    let probe =
        "import git_exp, os, sys; print(os.path.dirname(os.path.dirname(git_exp.__file__)))";
    let out = repo.exp(&["run", "-q", "-n", "plain", "--", "python3", "-c", probe]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lib = stdout(&out);
    assert!(lib.contains("/exp/python/") && lib.trim_end().ends_with("/lib"), "{lib}");

    let has_wandb = "import importlib.util as u; print(u.find_spec('wandb') is not None)";
    let out = repo.exp(&["run", "-q", "-n", "no-shim", "--", "python3", "-c", has_wandb]);
    let plain = stdout(&out);
    let out = repo.exp(&[
        "run",
        "-q",
        "--wandb",
        "-n",
        "shim",
        "--",
        "python3",
        "-c",
        "import wandb; print(wandb.__file__)",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("/exp/python/") && stdout(&out).contains("/shim/wandb/"),
        "{}",
        stdout(&out)
    );
    // Without --wandb, `wandb` is whatever the machine has (usually nothing).
    assert!(!plain.contains("/shim/"), "{plain}");
}

/// The W&B idiom `train(**wandb.config)` works under `git exp run --wandb`:
/// `wandb.init`'s project, entity, group and job_type stay out of the config.
/// Group and job type are run fields of exp.toml that `list --filter` and JSON
/// see; project and entity are kept in exp.toml's `[wandb]` table.
/// See: issue 11, item 8.
#[test]
fn wandb_config_holds_only_what_the_script_put_there() {
    let repo = TestRepo::new();
    let script = "\
import wandb
def train(lr, epochs):
    return lr * epochs
run = wandb.init(project='mnist', entity='team', group='cv-1', job_type='train',
                 config={'lr': 0.5, 'epochs': 4})
print('result', train(**wandb.config))
print('keys', sorted(dict(wandb.config)))
wandb.log({'loss': 0.25})
wandb.finish()
";
    for (name, group, job) in [("fold-0", "cv-1", "train"), ("other", "cv-2", "eval")] {
        let script = script.replace("cv-1", group).replace("'train'", &format!("'{job}'"));
        let out = repo.exp(&["run", "-q", "--wandb", "-n", name, "--", "python3", "-c", &script]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("result 2.0\nkeys ['epochs', 'lr']\n"), "{}", stdout(&out));
    }
    assert_eq!(repo.show_file("fold-0", "config.toml"), "epochs = 4\nlr = 0.5\n");
    let exp: toml::Table = toml::from_str(&repo.show_file("fold-0", "exp.toml")).unwrap();
    assert_eq!(exp["group"].as_str(), Some("cv-1"));
    assert_eq!(exp["job_type"].as_str(), Some("train"));
    assert_eq!(exp["wandb"]["project"].as_str(), Some("mnist"));
    assert_eq!(exp["wandb"]["entity"].as_str(), Some("team"));

    let names = |filter: &str| -> Vec<String> {
        let text = repo.exp_ok(&["list", "--format", "json", "--filter", filter]);
        let runs: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        runs.iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names("group == \"cv-1\""), ["fold-0"]);
    assert_eq!(names("job_type == \"eval\""), ["other"]);
    let listed = repo.list_json();
    let fold = listed.iter().find(|r| r["name"] == "fold-0").unwrap();
    assert_eq!((fold["group"].as_str(), fold["job_type"].as_str()), (Some("cv-1"), Some("train")));
    let shown: serde_json::Value =
        serde_json::from_str(&repo.exp_ok(&["show", "fold-0", "--format", "json"])).unwrap();
    assert_eq!(shown["wandb"]["project"], "mnist");
    let text = repo.exp_ok(&["show", "fold-0"]);
    assert!(text.contains("group:    cv-1") && text.contains("job type: train"), "{text}");
}
