//! `git exp demo` (the README's main job) and git's plugin convention.

use crate::common::{git_exp_bin, stderr, TestRepo};

#[test]
fn demo_tracks_three_runs_of_the_bundled_script() {
    let repo = TestRepo::new();
    let dir = repo.tmp.path().join("demo");
    let out = repo.cmd_in(repo.tmp.path(), &["demo", dir.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let list = String::from_utf8(out.stdout).unwrap();
    for name in ["lr-0.03", "lr-0.1", "lr-0.3"] {
        assert!(list.contains(name), "{list}");
    }
    let runs: Vec<serde_json::Value> =
        serde_json::from_slice(&repo.cmd_in(&dir, &["list", "--json"]).output().unwrap().stdout)
            .unwrap();
    assert_eq!(runs.len(), 3);
    for run in &runs {
        assert_eq!(run["status"], "finished");
        assert_eq!(run["summary"]["loss"]["count"], serde_json::json!(30));
        assert!(run["summary"]["acc"]["last"].as_f64().unwrap() > 0.5);
        assert!(run["summary"]["final_acc"]["value"].is_number());
    }
    // A non-empty directory is refused without touching it.
    let out = repo.cmd_in(repo.tmp.path(), &["demo", dir.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn git_runs_it_as_a_plugin_from_path() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "via-plugin", "--", "true"]);
    let bin_dir = git_exp_bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = std::process::Command::new("git");
    repo.env(&mut cmd);
    let out = cmd
        .env("PATH", path)
        .args(["exp", "list", "--format", "csv"])
        .current_dir(&repo.root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("via-plugin"));
}
