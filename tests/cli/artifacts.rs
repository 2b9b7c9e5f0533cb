//! Artifacts kept by a run: files dropped into `$GIT_EXP_DIR/artifacts/` and
//! files named by `_artifact` events; small ones inline in the run's tree,
//! large ones once in the local content-addressed store.

use crate::common::{stderr, TestRepo};

const LOG_ARTIFACTS: &str = r#"
mkdir -p "$GIT_EXP_DIR/artifacts/plots" out/ckpt
printf 'PNG' > "$GIT_EXP_DIR/artifacts/plots/loss.png"
printf 'small' > out/notes.txt
head -c 5000 /dev/zero | tr '\0' 'w' > out/weights.bin
printf 'a' > out/ckpt/a.pt; printf 'b' > out/ckpt/b.pt
printf '%s\n' '{"_artifact": ["out/notes.txt", {"path": "out/weights.bin", "name": "model/weights.bin"}]}' >> "$GIT_EXP_EVENTS"
printf '%s\n' '{"_artifact": {"path": "out/ckpt", "name": "ckpt"}}' >> "$GIT_EXP_EVENTS"
printf '%s\n' '{"_artifact": [{"path": "out/notes.txt", "name": "../../escape.txt"}, "missing.bin"]}' >> "$GIT_EXP_EVENTS"
"#;

#[test]
fn artifacts_are_kept_inline_or_in_the_store_with_their_hashes() {
    let repo = TestRepo::new();
    repo.git(&["config", "exp.artifacts.inlineMax", "1000"]);
    repo.write(".gitignore", "out/\n");
    let out = repo.exp(&["run", "-n", "a1", "--", "sh", "-c", LOG_ARTIFACTS]);
    assert!(out.status.success(), "{}", stderr(&out));

    let tree = repo.git(&["ls-tree", "-r", "--name-only", "refs/experiments/a1", "artifacts"]);
    let tree: Vec<&str> = tree.lines().collect();
    assert_eq!(
        tree,
        [
            "artifacts/ckpt/a.pt",
            "artifacts/ckpt/b.pt",
            "artifacts/notes.txt",
            "artifacts/plots/loss.png"
        ]
    );
    assert_eq!(repo.show_file("a1", "artifacts/notes.txt"), "small");

    let listed: toml::Table = toml::from_str(&repo.show_file("a1", "artifacts.toml")).unwrap();
    let entries = listed["artifact"].as_array().unwrap();
    let summary: Vec<(String, i64, String)> = entries
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_owned(),
                e["size"].as_integer().unwrap(),
                e["storage"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expect = [
        ("ckpt/a.pt", 1, "inline"),
        ("ckpt/b.pt", 1, "inline"),
        ("model/weights.bin", 5000, "store"),
        ("notes.txt", 5, "inline"),
        ("plots/loss.png", 3, "inline"),
    ];
    let expect: Vec<(String, i64, String)> =
        expect.iter().map(|(p, s, k)| (p.to_string(), *s, k.to_string())).collect();
    assert_eq!(summary, expect);
    // sha256 of "small".
    let notes = entries.iter().find(|e| e["path"].as_str() == Some("notes.txt")).unwrap();
    assert_eq!(notes["sha256"].as_str().unwrap(), sha256_hex(b"small"));
    assert_eq!(notes["media_type"].as_str(), Some("text/plain"));
    let png = entries.iter().find(|e| e["path"].as_str() == Some("plots/loss.png")).unwrap();
    assert_eq!(png["media_type"].as_str(), Some("image/png"));

    // The large file is in the store under its hash, byte for byte.
    let weights = entries.iter().find(|e| e["path"].as_str() == Some("model/weights.bin")).unwrap();
    let sha = weights["sha256"].as_str().unwrap();
    assert_eq!(sha, sha256_hex(&[b'w'; 5000]));
    let stored = repo.root.join(".git/exp/objects/sha256").join(&sha[..2]).join(&sha[2..]);
    assert_eq!(std::fs::read(&stored).unwrap(), vec![b'w'; 5000]);

    // Refused names and missing files are listed, never written outside.
    let skipped = listed["skipped"].as_array().unwrap();
    let reasons: Vec<String> = skipped
        .iter()
        .map(|s| format!("{}: {}", s["path"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].starts_with("../../escape.txt: bad name: '..'"), "{reasons:?}");
    assert!(reasons[1].starts_with("missing.bin: ") && reasons[1].ends_with("does not exist"));
    assert!(repo.show_file("a1", "output.log").contains("[git-exp] artifact missing.bin not kept"));
    assert!(!repo.tmp.path().join("escape.txt").exists());
    repo.fsck();

    // show lists them; its JSON carries artifacts.toml's entries.
    let shown = repo.exp_ok(&["show", "a1"]);
    assert!(shown.contains("model/weights.bin    4.9 KiB  store"), "{shown}");
    assert!(shown.contains("missing.bin: not kept: "), "{shown}");
    let json: serde_json::Value =
        serde_json::from_str(&repo.exp_ok(&["show", "a1", "--format", "json"])).unwrap();
    assert_eq!(json["artifacts"].as_array().unwrap().len(), 5);
    assert_eq!(json["artifacts"][2]["sha256"], sha);
    assert_eq!(json["artifacts_skipped"].as_array().unwrap().len(), 2);

    // The same large content logged by another run is stored once.
    let out = repo.exp(&["run", "-q", "-n", "a2", "--", "sh", "-c", LOG_ARTIFACTS]);
    assert!(out.status.success(), "{}", stderr(&out));
    let objects: Vec<_> = walk_files(&repo.root.join(".git/exp/objects"));
    assert_eq!(objects.len(), 1, "{objects:?}");
}

#[test]
fn a_run_without_artifacts_has_no_artifact_files() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "none", "--", "true"]);
    let tree = repo.git(&["ls-tree", "--name-only", "refs/experiments/none"]);
    assert!(!tree.contains("artifacts"), "{tree}");
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    // The real sha256sum, so the test does not check the code with itself.
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum runs");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}
