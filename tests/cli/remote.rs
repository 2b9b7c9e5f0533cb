//! Runs travel with plain git: push to a bare remote, fetch into a fresh clone.

use crate::common::TestRepo;

#[test]
fn runs_pushed_to_a_bare_remote_are_listed_in_a_fresh_clone() {
    let repo = TestRepo::new();
    repo.exp_ok(&[
        "run",
        "-q",
        "-n",
        "shared",
        "-p",
        "lr=0.5",
        "--",
        "sh",
        "-c",
        r#"printf '{"acc": 0.75}\n' >> "$GIT_EXP_EVENTS""#,
    ]);
    repo.exp_ok(&["run", "-q", "-n", "group/two", "--", "true"]);
    let bare = repo.tmp.path().join("remote.git");
    repo.git(&["init", "-q", "--bare", bare.to_str().unwrap()]);
    repo.git(&[
        "push",
        "-q",
        bare.to_str().unwrap(),
        "main",
        "refs/experiments/*:refs/experiments/*",
    ]);
    let clone = repo.tmp.path().join("clone");
    repo.git(&["clone", "-q", bare.to_str().unwrap(), clone.to_str().unwrap()]);
    // A plain clone does not fetch them...
    let out = repo.cmd_in(&clone, &["list", "--json"]).output().unwrap();
    assert_eq!(serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap().len(), 0);
    // ...an explicit refspec does.
    repo.git_in(&clone, &["fetch", "-q", "origin", "refs/experiments/*:refs/experiments/*"]);
    let out = repo.cmd_in(&clone, &["list", "--json"]).output().unwrap();
    assert!(out.status.success());
    let runs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"shared") && names.contains(&"group/two"));
    let shared = runs.iter().find(|r| r["name"] == "shared").unwrap();
    assert_eq!(shared["summary"]["acc"]["last"], serde_json::json!(0.75));
    assert_eq!(shared["config"]["lr"], serde_json::json!(0.5));
    let out = repo.cmd_in(&clone, &["show", "shared"]).output().unwrap();
    assert!(out.status.success());
}
