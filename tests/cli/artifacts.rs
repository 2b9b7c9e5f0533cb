//! Artifacts kept by a run: files dropped into `$GIT_EXP_DIR/artifacts/`, files
//! named with `-a` and by `_artifact` events; small ones inline in the run's
//! tree, large ones once in the local content-addressed store.
//!
//! The store reflinks where the file system can (btrfs, XFS), else links files
//! of the live directory, else copies. The tests expect what the temporary
//! directory's file system allows (`cp --reflink=always` tells): on ext4 or
//! tmpfs they cover linking and copying; `TMPDIR=/some/btrfs/dir cargo test`
//! covers reflinks.

use crate::common::{sha256_file, sha256_hex, stderr, walk_files, TestRepo};

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

// ------------------------------------------------------------ the local store

fn inode(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).ino()
}

/// Whether `dir`'s file system clones files (then the store reflinks rather than links).
fn reflink_supported(dir: &std::path::Path) -> bool {
    let (a, b) = (dir.join(".reflink-probe-a"), dir.join(".reflink-probe-b"));
    std::fs::write(&a, b"probe").unwrap();
    let ok = std::process::Command::new("cp")
        .arg("--reflink=always")
        .arg(&a)
        .arg(&b)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let _ = std::fs::remove_file(&a);
    let _ = std::fs::remove_file(&b);
    ok
}

/// `artifacts.toml` of a run as (path, size, storage, sha256) rows.
fn listed(repo: &TestRepo, run: &str) -> Vec<(String, i64, String, String)> {
    let file: toml::Table = toml::from_str(&repo.show_file(run, "artifacts.toml")).unwrap();
    let rows = file.get("artifact").and_then(|a| a.as_array()).cloned().unwrap_or_default();
    rows.iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_owned(),
                e["size"].as_integer().unwrap(),
                e["storage"].as_str().unwrap().to_owned(),
                e["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `path: reason` of each `[[skipped]]` entry.
fn skipped(repo: &TestRepo, run: &str) -> Vec<String> {
    let file: toml::Table = toml::from_str(&repo.show_file(run, "artifacts.toml")).unwrap();
    let rows = file.get("skipped").and_then(|a| a.as_array()).cloned().unwrap_or_default();
    rows.iter()
        .map(|s| format!("{}: {}", s["path"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect()
}

/// Bytes that do not compress or repeat in an obvious way.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn the_inline_limit_is_inclusive() {
    let repo = TestRepo::new();
    // Default limit, 1 MiB: files of the live directory.
    let script = r#"mkdir -p "$GIT_EXP_DIR/artifacts"
head -c 1048576 /dev/zero | tr '\0' 'a' > "$GIT_EXP_DIR/artifacts/at.bin"
head -c 1048577 /dev/zero | tr '\0' 'b' > "$GIT_EXP_DIR/artifacts/over.bin""#;
    repo.exp_ok(&["run", "-q", "-n", "default", "--", "sh", "-c", script]);
    let rows = listed(&repo, "default");
    assert_eq!(
        rows.iter().map(|r| (r.0.as_str(), r.1, r.2.as_str())).collect::<Vec<_>>(),
        [("at.bin", 1048576, "inline"), ("over.bin", 1048577, "store")]
    );
    let tree = repo.git(&["ls-tree", "-r", "-l", "refs/experiments/default", "artifacts"]);
    assert_eq!(tree.lines().count(), 1, "{tree}");
    assert!(tree.contains(" 1048576\tartifacts/at.bin"), "{tree}");
    assert_eq!(rows[0].3, sha256_hex(&[b'a'; 1048576]));
    assert_eq!(rows[1].3, sha256_hex(&[b'b'; 1048577]));
    assert_eq!(repo.store_objects(), [repo.object_path(&rows[1].3)]);
    assert_eq!(std::fs::read(repo.object_path(&rows[1].3)).unwrap(), vec![b'b'; 1048577]);

    // A configured limit: files named with -a.
    repo.git(&["config", "exp.artifacts.inlineMax", "10"]);
    repo.write(".gitignore", "*.txt\n");
    repo.write("ten.txt", "0123456789");
    repo.write("eleven.txt", "0123456789!");
    repo.exp_ok(&["run", "-q", "-n", "ten", "-a", "ten.txt", "-a", "eleven.txt", "--", "true"]);
    let rows = listed(&repo, "ten");
    assert_eq!(
        rows.iter().map(|r| (r.0.as_str(), r.1, r.2.as_str())).collect::<Vec<_>>(),
        [("eleven.txt", 11, "store"), ("ten.txt", 10, "inline")]
    );
    assert_eq!(repo.show_file("ten", "artifacts/ten.txt"), "0123456789");
    assert_eq!(std::fs::read(repo.object_path(&rows[0].3)).unwrap(), b"0123456789!");
    assert_eq!(repo.store_objects().len(), 2);
    repo.fsck();
}

#[test]
fn one_content_kept_by_ten_runs_is_stored_once_and_its_time_refreshed() {
    let repo = TestRepo::new();
    let linking = !reflink_supported(&repo.root.join(".git"));
    repo.write(".gitignore", "*.bin\n");
    let model = repo.root.join("model.bin");
    std::fs::write(&model, noise(2 << 20, 1)).unwrap();
    let sha = sha256_file(&model);
    let object = repo.object_path(&sha);
    let mut first_inode = None;
    for i in 0..10 {
        let name = format!("user-{i}");
        repo.exp_ok(&["run", "-q", "-n", &name, "-a", "model.bin", "--", "true"]);
        assert_eq!(
            listed(&repo, &name),
            [("model.bin".into(), 2 << 20, "store".into(), sha.clone())]
        );
        assert_eq!(repo.store_objects(), std::slice::from_ref(&object));
        // Never rewritten: the object of the first run stays.
        assert_eq!(*first_inode.get_or_insert(inode(&object)), inode(&object));
    }
    assert_ne!(inode(&object), inode(&model), "a user's file is never hardlinked");

    // Files the command leaves in the live directory: the first is linked
    // (unless the file system clones), the next ones only hashed.
    let inodes = repo.tmp.path().join("inodes");
    std::fs::create_dir(&inodes).unwrap();
    let content = repo.tmp.path().join("live.src");
    std::fs::write(&content, noise(3 << 20, 2)).unwrap();
    let live_sha = sha256_file(&content);
    let live_object = repo.object_path(&live_sha);
    for i in 0..10 {
        let script = format!(
            "mkdir -p \"$GIT_EXP_DIR/artifacts\" && cp {} \"$GIT_EXP_DIR/artifacts/live.bin\" && \
             stat -c %i \"$GIT_EXP_DIR/artifacts/live.bin\" > {}/{i}",
            content.display(),
            inodes.display()
        );
        let name = format!("live-{i}");
        repo.exp_ok(&["run", "-q", "-n", &name, "--", "sh", "-c", &script]);
        let rows = listed(&repo, &name);
        assert_eq!(rows, [("live.bin".into(), 3 << 20, "store".into(), live_sha.clone())]);
    }
    assert_eq!(repo.store_objects().len(), 2);
    let first: u64 = std::fs::read_to_string(inodes.join("0")).unwrap().trim().parse().unwrap();
    if linking {
        assert_eq!(inode(&live_object), first, "the live file becomes the object");
    } else {
        assert_ne!(inode(&live_object), first, "reflinked: a clone");
    }
    assert!(std::fs::metadata(&live_object).unwrap().permissions().readonly());
    assert_eq!(sha256_file(&live_object), live_sha);

    // Reuse refreshes the object's modification time (gc spares recent objects).
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::open(&object).unwrap().set_modified(old).unwrap();
    repo.exp_ok(&["run", "-q", "-n", "again", "-a", "model.bin", "--", "true"]);
    let mtime = std::fs::metadata(&object).unwrap().modified().unwrap();
    assert!(mtime.elapsed().unwrap() < std::time::Duration::from_secs(600), "{mtime:?}");
    assert_eq!(
        walk_files(&repo.root.join(".git/exp/objects/tmp")),
        Vec::<std::path::PathBuf>::new()
    );
    repo.fsck();
}

#[test]
fn a_users_file_is_not_linked_so_overwriting_it_leaves_the_object_intact() {
    let repo = TestRepo::new();
    repo.write(".gitignore", "*.pt\n");
    let ckpt = repo.root.join("ckpt.pt");
    std::fs::write(&ckpt, noise(2 << 20, 3)).unwrap();
    let sha = sha256_file(&ckpt);
    // The training script names its own checkpoint: -a, then an _artifact event.
    let event = r#"printf '{"_artifact": "ckpt.pt"}\n' >> "$GIT_EXP_EVENTS""#;
    repo.exp_ok(&["run", "-q", "-n", "a", "-a", "ckpt.pt", "--", "true"]);
    repo.exp_ok(&["run", "-q", "-n", "e", "--", "sh", "-c", event]);
    let object = repo.object_path(&sha);
    assert_eq!(listed(&repo, "a")[0].3, sha);
    assert_eq!(listed(&repo, "e")[0].3, sha);
    assert_ne!(inode(&object), inode(&ckpt));

    // torch.save on the same path, in place: same inode, new bytes.
    let before = inode(&ckpt);
    {
        use std::io::{Seek, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&ckpt).unwrap();
        f.seek(std::io::SeekFrom::Start(0)).unwrap();
        f.write_all(&noise(2 << 20, 4)).unwrap();
    }
    assert_eq!(inode(&ckpt), before);
    assert_ne!(sha256_file(&ckpt), sha);
    assert_eq!(sha256_file(&object), sha, "the stored object did not change");
    assert_eq!(repo.store_objects(), [object]);
    repo.fsck();
}

#[test]
fn artifact_args_take_paths_globs_and_directories_and_list_misses() {
    let repo = TestRepo::new();
    repo.write(".gitignore", "sub/out/\ntop.txt\n");
    std::fs::create_dir(repo.root.join("sub")).unwrap();
    let script = r#"mkdir -p out/logs/deep
printf a > out/a.pt; printf b > out/b.pt; printf c > out/c.txt; printf h > out/.h.pt
printf 1 > out/logs/1.txt; printf 2 > out/logs/deep/2.txt
ln -s a.pt out/link.pt
printf top > ../top.txt"#;
    let args = [
        "run",
        "-q",
        "-n",
        "globs",
        "-a",
        "out/*.pt",
        "--artifact",
        "out/logs",
        "-a",
        "none/*.bin",
        "-a",
        "../top.txt",
        "-a",
        "missing.txt",
        "--",
        "sh",
        "-c",
        script,
    ];
    let out = repo.cmd_in(&repo.root.join("sub"), &args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let names: Vec<String> = listed(&repo, "globs").into_iter().map(|r| r.0).collect();
    assert_eq!(names, ["out/a.pt", "out/b.pt", "out/logs/1.txt", "out/logs/deep/2.txt", "top.txt"]);
    assert_eq!(repo.show_file("globs", "artifacts/top.txt"), "top");
    assert_eq!(
        skipped(&repo, "globs"),
        [
            "out/link.pt: a symbolic link (not followed)",
            "none/*.bin: the glob matches no file",
            "missing.txt: no such file or directory",
        ]
    );
    let log = repo.show_file("globs", "output.log");
    assert!(log.contains("[git-exp] artifact none/*.bin not kept: the glob matches no file"));
    repo.fsck();

    // An invalid glob is refused before anything runs.
    let out = repo.exp(&["run", "-n", "bad", "-a", "out/[", "--", "touch", "ran"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("invalid artifact path 'out/['"), "{}", stderr(&out));
    assert!(!repo.root.join("ran").exists());
    assert_eq!(repo.list_json().len(), 1);
}

#[test]
fn start_keeps_artifact_args_for_finish_and_for_crash_recovery() {
    let repo = TestRepo::new();
    repo.write(".gitignore", "ckpt/\n");
    let mut owners = Vec::new();
    for name in ["fin", "crash"] {
        let owner = std::process::Command::new("sleep").arg("300").spawn().unwrap();
        let pid = owner.id().to_string();
        repo.exp_ok(&["start", "-n", name, "--pid", &pid, "-a", "ckpt/*.bin", "--", "x"]);
        owners.push(owner);
    }
    // The files appear after start: the globs are expanded when the run is committed.
    repo.write("ckpt/e1.bin", "one");
    repo.write("ckpt/e2.bin", "two");
    let id = repo.list_json().iter().find(|r| r["name"] == "fin").unwrap()["id"].clone();
    repo.exp_ok(&["finish", id.as_str().unwrap()]);
    let names = |run| listed(&repo, run).into_iter().map(|r| r.0).collect::<Vec<_>>();
    assert_eq!(names("fin"), ["ckpt/e1.bin", "ckpt/e2.bin"]);
    for owner in &mut owners {
        let _ = owner.kill();
        let _ = owner.wait();
    }
    let runs = repo.list_json();
    let crashed = runs.iter().find(|r| r["name"] == "crash").unwrap();
    assert_eq!(crashed["status"], "crashed");
    assert_eq!(names("crash"), ["ckpt/e1.bin", "ckpt/e2.bin"]);
    repo.fsck();
}

#[test]
fn concurrent_runs_storing_one_content_all_commit_and_share_one_object() {
    let repo = TestRepo::new();
    repo.write(".gitignore", "*.bin\n");
    let source = repo.tmp.path().join("model.src");
    std::fs::write(&source, noise(3 << 20, 5)).unwrap();
    let sha = sha256_file(&source);
    let go = repo.tmp.path().join("go");
    let ready = |i: usize| repo.tmp.path().join(format!("ready-{i}"));
    let children: Vec<_> = (0..4)
        .map(|i| {
            let name = format!("c{i}");
            // Each says it is running, then waits for the others.
            let wait = format!(
                "touch {}; while [ ! -e {} ]; do sleep 0.01; done",
                ready(i).display(),
                go.display()
            );
            // Two leave the file in the live directory, two name their own copy.
            let (script, extra) = if i % 2 == 0 {
                let s = format!(
                    "{wait}; mkdir -p \"$GIT_EXP_DIR/artifacts\"; cp {} \"$GIT_EXP_DIR/artifacts/model.bin\"",
                    source.display()
                );
                (s, None)
            } else {
                let file = format!("model-{i}.bin");
                (format!("{wait}; cp {} {file}", source.display()), Some(file))
            };
            let mut args = vec!["run", "-q", "-n", &name];
            if let Some(f) = &extra {
                args.extend(["-a", f.as_str()]);
            }
            args.extend(["--", "sh", "-c", &script]);
            repo.cmd_in(&repo.root, &args).spawn().unwrap()
        })
        .collect();
    let all_ready = || (0..4).all(|i| ready(i).exists());
    crate::common::wait_for(
        "the four runs to start",
        std::time::Duration::from_secs(60),
        all_ready,
    );
    std::fs::write(&go, b"").unwrap();
    for child in children {
        let out = crate::common::wait_deadline(child, std::time::Duration::from_secs(120));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(repo.list_json().len(), 4);
    for i in 0..4 {
        let rows = listed(&repo, &format!("c{i}"));
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].1, rows[0].2.as_str(), rows[0].3.as_str()),
            (3 << 20, "store", sha.as_str())
        );
    }
    let object = repo.object_path(&sha);
    assert_eq!(repo.store_objects(), std::slice::from_ref(&object));
    assert_eq!(sha256_file(&object), sha);
    assert_eq!(
        walk_files(&repo.root.join(".git/exp/objects/tmp")),
        Vec::<std::path::PathBuf>::new()
    );
    repo.fsck();
}

// ------------------------------------------------------ files that cannot be kept

/// The directories of live runs.
fn live_dirs(repo: &TestRepo) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(repo.root.join(".git/exp/live")) else { return vec![] };
    let mut dirs: Vec<_> = entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs
}

/// A command that leaves `ckpt.pt` (a copy of `source`) in the live directory, then exits 3.
fn leave_checkpoint(source: &std::path::Path) -> String {
    format!(
        "mkdir -p \"$GIT_EXP_DIR/artifacts/sub\" && cp {} \"$GIT_EXP_DIR/artifacts/sub/ckpt.pt\"; exit 3",
        source.display()
    )
}

#[test]
fn a_live_file_the_store_cannot_take_is_moved_to_lost_found() {
    let repo = TestRepo::new();
    repo.break_store();
    let source = repo.tmp.path().join("ckpt.src");
    std::fs::write(&source, noise(50_000, 6)).unwrap();
    let sha = sha256_file(&source);
    let out = repo.exp(&["run", "-n", "lost", "--", "sh", "-c", &leave_checkpoint(&source)]);
    // The run is committed, and `run` exits with the command's code.
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let runs = repo.list_json();
    assert_eq!(runs.len(), 1);
    let id = runs[0]["id"].as_str().unwrap().to_owned();
    let kept = format!(".git/exp/lost-found/{id}/sub/ckpt.pt");
    assert_eq!(sha256_file(&repo.root.join(&kept)), sha);
    assert_eq!(live_dirs(&repo), Vec::<std::path::PathBuf>::new());

    let err = stderr(&out);
    let warning =
        err.lines().find(|l| l.starts_with("warning: artifact sub/ckpt.pt")).unwrap_or("");
    assert!(warning.contains(" could not be stored (cannot store "), "{err}");
    assert!(warning.ends_with(&format!("; kept at {kept}")), "{err}");
    let reasons = skipped(&repo, "lost");
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].starts_with("sub/ckpt.pt: cannot store "), "{reasons:?}");
    assert!(reasons[0].ends_with(&format!("; kept at {kept}")), "{reasons:?}");
    let log = repo.show_file("lost", "output.log");
    assert!(log.contains("[git-exp] artifact sub/ckpt.pt not kept: cannot store "), "{log}");
    assert!(log.contains(&kept), "{log}");

    // gc leaves lost-found alone.
    std::fs::remove_file(repo.root.join(".git/exp/objects/tmp")).unwrap();
    repo.exp_ok(&["gc", "-q", "--keep-recent", "0s"]);
    assert_eq!(sha256_file(&repo.root.join(&kept)), sha);
    repo.fsck();
}

#[test]
fn when_lost_found_cannot_take_it_either_the_live_directory_stays_and_is_not_committed_again() {
    let repo = TestRepo::new();
    repo.break_store();
    std::fs::write(repo.root.join(".git/exp/lost-found"), b"").unwrap();
    let source = repo.tmp.path().join("ckpt.src");
    std::fs::write(&source, noise(50_000, 7)).unwrap();
    let sha = sha256_file(&source);
    let out = repo.exp(&["run", "-n", "stuck", "--", "sh", "-c", &leave_checkpoint(&source)]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("warning: artifact sub/ckpt.pt could not be stored ("), "{err}");
    assert!(err.contains("could not be moved to .git/exp/lost-found/"), "{err}");
    let live = live_dirs(&repo);
    assert_eq!(live.len(), 1, "the live directory stays: {err}");
    assert_eq!(sha256_file(&live[0].join("artifacts/sub/ckpt.pt")), sha);

    // Later commands do not commit it again, even once it is renamed, and say why it stays.
    repo.exp_ok(&["rename", "-q", "stuck", "renamed"]);
    let out = repo.exp(&["list", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let runs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        (runs[0]["name"].as_str(), runs[0]["status"].as_str()),
        (Some("renamed"), Some("failed"))
    );
    assert!(
        stderr(&out).contains("could not be moved to .git/exp/lost-found/"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("recovered"), "{}", stderr(&out));
    assert_eq!(live_dirs(&repo), live);

    // Once lost-found can be written, the next command moves the file and removes the directory.
    std::fs::remove_file(repo.root.join(".git/exp/lost-found")).unwrap();
    let out = repo.exp(&["list", "--format", "json"]);
    let id = runs[0]["id"].as_str().unwrap();
    let kept = format!(".git/exp/lost-found/{id}/sub/ckpt.pt");
    assert!(stderr(&out).contains(&format!("kept at {kept}")), "{}", stderr(&out));
    assert!(!stderr(&out).contains("recovered"), "{}", stderr(&out));
    assert_eq!(sha256_file(&repo.root.join(&kept)), sha);
    assert_eq!(live_dirs(&repo), Vec::<std::path::PathBuf>::new());
    assert_eq!(repo.list_json().len(), 1);
    repo.fsck();
}

#[test]
fn finish_and_crash_recovery_move_what_the_store_cannot_take_to_lost_found() {
    let repo = TestRepo::new();
    repo.break_store();
    let mut owners = Vec::new();
    let mut dirs = Vec::new();
    for name in ["fin", "crash"] {
        let owner = std::process::Command::new("sleep").arg("300").spawn().unwrap();
        let pid = owner.id().to_string();
        let out = repo.exp_ok(&["start", "-n", name, "--pid", &pid, "--", "x"]);
        let dir = out.lines().find_map(|l| l.strip_prefix("dir ")).unwrap().to_owned();
        repo.write(&format!("{dir}/artifacts/model.bin"), &name.repeat(1000));
        dirs.push(std::path::PathBuf::from(dir));
        owners.push(owner);
    }
    let id = |name| {
        repo.list_json().iter().find(|r| r["name"] == name).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (fin, crash) = (id("fin"), id("crash"));
    repo.exp_ok(&["finish", &fin]);
    for owner in &mut owners {
        let _ = owner.kill();
        let _ = owner.wait();
    }
    let out = repo.exp(&["list", "--format", "json"]);
    let err = stderr(&out);
    let kept = |id: &str| format!(".git/exp/lost-found/{id}/model.bin");
    assert!(err.contains("warning: run crash: artifact model.bin could not be stored ("), "{err}");
    assert!(err.contains(&format!("; kept at {}", kept(&crash))), "{err}");
    for (name, id) in [("fin", &fin), ("crash", &crash)] {
        assert_eq!(std::fs::read_to_string(repo.root.join(kept(id))).unwrap(), name.repeat(1000));
        let reasons = skipped(&repo, name);
        assert!(reasons[0].ends_with(&format!("; kept at {}", kept(id))), "{reasons:?}");
    }
    assert!(dirs.iter().all(|d| !d.exists()));
    assert_eq!(repo.list_json().len(), 2);
    repo.fsck();
}

// ----------------------------------------------------- artifacts and the code tree

#[test]
fn files_named_with_a_are_left_out_of_the_code_tree() {
    let repo = TestRepo::new();
    repo.write("tracked.bin", "committed\n");
    repo.git(&["add", "tracked.bin"]);
    repo.git(&["commit", "-q", "-m", "tracked"]);
    let head_blob = repo.git(&["rev-parse", "HEAD:tracked.bin"]);
    repo.write("tracked.bin", "changed since\n");
    std::fs::write(repo.root.join("model.pt"), noise(3_000_000, 8)).unwrap();
    repo.write("out/e1.pt", "one");
    repo.write("out/deep/e2.pt", "two");
    repo.write("data/x.npy", "x");
    repo.write("data/keep.txt", "code");
    repo.write("staged.bin", "staged");
    repo.git(&["add", "staged.bin"]);
    repo.write("train.py", "print(1)\n");
    let args = "run -q -n mm -a model.pt -a out -a data/*.npy -a tracked.bin -a staged.bin -- true";
    repo.exp_ok(&args.split(' ').collect::<Vec<_>>());
    let tree = repo.git(&["ls-tree", "-r", "-l", "refs/experiments/mm", "code"]);
    let names: Vec<&str> = tree.lines().map(|l| l.split('\t').nth(1).unwrap()).collect();
    assert_eq!(
        names,
        ["code/README.md", "code/data/keep.txt", "code/tracked.bin", "code/train.py"]
    );
    // A tracked file keeps the version committed in HEAD.
    let tracked = tree.lines().find(|l| l.ends_with("\tcode/tracked.bin")).unwrap();
    assert!(tracked.contains(head_blob.trim()), "{tree}");

    let exp: toml::Table = toml::from_str(&repo.show_file("mm", "exp.toml")).unwrap();
    let skipped: Vec<(String, i64, String)> = exp["code_skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_owned(),
                s["size"].as_integer().unwrap(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expect = [
        ("data/x.npy", 1, "kept as an artifact"),
        ("model.pt", 3_000_000, "kept as an artifact"),
        ("staged.bin", 6, "kept as an artifact"),
        ("tracked.bin", 14, "kept as an artifact"),
        ("out/", 6, "kept as an artifact (2 files)"),
    ];
    let expect: Vec<(String, i64, String)> =
        expect.iter().map(|(p, s, r)| (p.to_string(), *s, r.to_string())).collect();
    assert_eq!(skipped, expect);
    // They are the run's artifacts instead.
    let names: Vec<String> = listed(&repo, "mm").into_iter().map(|r| r.0).collect();
    assert_eq!(
        names,
        ["data/x.npy", "model.pt", "out/deep/e2.pt", "out/e1.pt", "staged.bin", "tracked.bin"]
    );
    repo.fsck();
}

#[test]
fn a_finished_run_whose_live_directory_stays_is_not_listed_as_running() {
    let repo = TestRepo::new();
    repo.break_store();
    std::fs::write(repo.root.join(".git/exp/lost-found"), b"").unwrap();
    let mut owner = std::process::Command::new("sleep").arg("300").spawn().unwrap();
    let pid = owner.id().to_string();
    let out = repo.exp_ok(&["start", "-n", "held", "--pid", &pid, "--", "x"]);
    let field = |key: &str| out.lines().find_map(|l| l.strip_prefix(key)).unwrap().to_owned();
    let (id, dir) = (field("id "), std::path::PathBuf::from(field("dir ")));
    std::fs::create_dir_all(dir.join("artifacts")).unwrap();
    std::fs::write(dir.join("artifacts/model.bin"), noise(5000, 9)).unwrap();
    repo.exp_ok(&["finish", &id]);
    assert!(dir.join("artifacts/model.bin").is_file());
    // The owner still runs: the run is listed once, as finished.
    let runs = repo.list_json();
    let statuses: Vec<&str> = runs.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["finished"]);
    let _ = owner.kill();
    let _ = owner.wait();
    std::fs::remove_file(repo.root.join(".git/exp/lost-found")).unwrap();
    assert_eq!(repo.list_json().len(), 1);
    assert!(!dir.exists());
    assert!(repo.root.join(format!(".git/exp/lost-found/{id}/model.bin")).is_file());
}
