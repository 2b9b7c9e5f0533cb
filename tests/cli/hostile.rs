//! Runs crafted with plain git by somebody else and fetched: everything they
//! hold is shown, never obeyed, in every output format, and one bad run never
//! stops the others. See: issue 11.

use std::process::Output;

use crate::common::{stderr, stdout, TestRepo};

/// Config keys and values a hostile run uses against terminals: a clipboard
/// write (OSC 52), a screen clear, a hyperlink, a title, a bidi override and
/// zero-width characters.
const HOSTILE_CONFIG: &str = concat!(
    "\"x\\u001b]52;c;aGVsbG8=\\u0007\\u001b[2J\\u001b]8;;http://e/\\u001b\\\\\" = 1\n",
    "\"evil\\u202egnp.exe\" = 2\n",
    "\"zw\\u200bsp\\u200f\\u2066i\\u2069\" = \"v\\u202e\\u009b31m\\u007f\"\n",
);

const HOSTILE_SUMMARY: &str = concat!(
    "[metrics.\"acc\\u001b]0;owned\\u0007\"]\nlast = 0.5\nmin = 0.5\nmax = 0.5\ncount = 1\nlast_step = 0\n\n",
    "[metrics.\"loss\\u202e\"]\nlast = 0.25\nmin = 0.25\nmax = 0.25\ncount = 1\nlast_step = 0\n",
);

/// A repository with a plain run `good` and a forged run `evil`, whose
/// exp.toml fields carry escape sequences too (`id`, `started` and `ended`
/// must have their documented shape, or the run is not read at all).
fn repo_with_hostile_run() -> TestRepo {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "good", "-p", "lr=0.1", "--", "true"]);
    let exp = repo.show_file("good", "exp.toml");
    let mut hostile = String::new();
    for line in exp.lines() {
        let line = match line.split_once(" = ") {
            Some((key @ ("code_commit" | "host" | "user"), value)) => {
                let value = value.trim_end_matches('"');
                format!("{key} = {value}\\u001b]0;TITLE\\u0007\\u001b[2J\\u202e\"")
            }
            _ => line.to_owned(),
        };
        hostile.push_str(&line);
        hostile.push('\n');
    }
    hostile.push_str("tags = [\"t\\u001b[31m\"]\nnote = \"n\\u009b\\u202e\"\n");
    let hostile = hostile.replace("tags = []\n", "").replace("note = \"\"\n", "");
    repo.forge_run(
        "good",
        "evil",
        &[
            ("config.toml", Some(HOSTILE_CONFIG.as_bytes())),
            ("summary.toml", Some(HOSTILE_SUMMARY.as_bytes())),
            ("exp.toml", Some(hostile.as_bytes())),
        ],
    );
    repo
}

/// The characters no terminal output may carry: C0 controls but line feed and
/// tab, DEL, C1 controls, and the format characters the attack uses.
fn unsafe_chars(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t')
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

fn assert_clean(what: &str, out: &Output) {
    let (o, e) = (stdout(out), stderr(out));
    assert!(unsafe_chars(&o).is_empty(), "{what}: stdout carries {:?}:\n{o}", unsafe_chars(&o));
    assert!(unsafe_chars(&e).is_empty(), "{what}: stderr carries {:?}:\n{e}", unsafe_chars(&e));
}

#[test]
fn escapes_and_bidi_overrides_from_a_run_never_reach_any_output() {
    let repo = repo_with_hostile_run();
    for format in ["table", "csv", "markdown", "json"] {
        let out = repo
            .cmd_in(&repo.root, &["list", "--format", format])
            .env("COLUMNS", "300")
            .output()
            .unwrap();
        assert!(out.status.success(), "list --format {format}: {}", stderr(&out));
        assert_clean(&format!("list --format {format}"), &out);
    }
    let table = repo.cmd_in(&repo.root, &["list"]).env("COLUMNS", "300").output().unwrap();
    // Shown visibly, so the reader sees that something is there.
    assert!(stdout(&table).contains("evil<U+202E>gnp.exe"), "{}", stdout(&table));
    for args in [
        &["show", "evil"][..],
        &["show", "evil", "--format", "json"],
        &["compare", "good", "evil"],
        &["compare", "good", "evil", "--format", "markdown"],
        &["compare", "good", "evil", "--format", "csv"],
        &["compare", "good", "evil", "--format", "json"],
        &["compare", "good", "evil", "--format", "html"],
    ] {
        let out = repo.exp(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_clean(&format!("{args:?}"), &out);
    }
    // Every file of the published site too.
    let out = repo.exp(&["report", "-o", "../site"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut pending = vec![repo.tmp.path().join("site")];
    let mut pages = 0;
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                assert!(
                    unsafe_chars(&text).is_empty(),
                    "{}: {:?}",
                    path.display(),
                    unsafe_chars(&text)
                );
                pages += 1;
            }
        }
    }
    assert!(pages >= 3, "index and two run pages at least");
    let shown = stdout(&repo.exp(&["show", "evil"]));
    assert!(shown.contains("<U+001B>]0;TITLE<U+0007>"), "exp.toml fields shown visibly:\n{shown}");
    assert!(!shown.contains("code:     \u{1b}"), "{shown}");
    // JSON keeps every character, escaped: a program reads back what the run holds.
    let json: serde_json::Value =
        serde_json::from_slice(&repo.exp(&["show", "evil", "--format", "json"]).stdout).unwrap();
    let text = json.to_string();
    assert!(text.contains("evil\u{202e}gnp.exe"), "{text}");
}

#[test]
fn a_skipped_run_is_one_clean_warning_and_the_others_are_listed() {
    let repo = repo_with_hostile_run();
    let bad_exp = "format = 1\nid = \"\u{1b}]52;c;aGk=\u{7}\u{1b}[2J\u{202e}\n";
    repo.forge_run("good", "broken", &[("exp.toml", Some(bad_exp.as_bytes()))]);
    // A start time that is no time would make the run sort anywhere.
    let exp = repo.show_file("good", "exp.toml");
    let started = exp.lines().find(|l| l.starts_with("started = ")).unwrap();
    let yesterday = exp.replace(started, "started = \"yesterday\"");
    repo.forge_run("good", "no-time", &[("exp.toml", Some(yesterday.as_bytes()))]);
    for args in [&["list"][..], &["compare", "good", "evil"], &["report", "-o", "../site"]] {
        let out = repo.exp(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_clean(&format!("{args:?}"), &out);
        let err = stderr(&out);
        let warnings: Vec<&str> =
            err.lines().filter(|l| l.starts_with("warning: skipped a run")).collect();
        if args[0] == "compare" {
            assert!(warnings.is_empty(), "runs named here are fine: {err}");
        } else {
            assert_eq!(err.matches("hint: a run you do not need").count(), 1, "{err}");
            assert_eq!(warnings.len(), 2, "{args:?}: {}", stderr(&out));
            assert!(warnings.iter().any(|w| w.contains("broken")), "names the run: {warnings:?}");
            assert!(
                warnings.iter().any(|w| w.contains("no-time") && w.contains("started is not")),
                "{warnings:?}"
            );
        }
    }
    let listed = repo.list_json();
    let names: Vec<&str> = listed.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"good") && names.contains(&"evil"), "{names:?}");
}

/// The commit id of run `name`, by git.
fn commit_of(repo: &TestRepo, name: &str) -> String {
    repo.git(&["rev-parse", &format!("refs/experiments/{name}")]).trim().to_owned()
}

#[test]
fn a_run_named_like_another_runs_id_never_shadows_it() {
    let repo = TestRepo::new();
    repo.exp_ok(&[
        "run",
        "-q",
        "-n",
        "mine",
        "-a",
        "out.txt",
        "--",
        "sh",
        "-c",
        "echo mine > out.txt",
    ]);
    let short = commit_of(&repo, "mine")[..7].to_owned();
    repo.exp_ok(&["run", "-q", "-n", "template", "--", "true"]);
    // The attacker's run carries a different out.txt and takes the short id as its name.
    repo.forge_run("mine", &short, &[("artifacts/out.txt", Some(b"attacker\n".as_slice()))]);
    let out = repo.exp(&["get", &short, "out.txt", "-o", "-"]);
    assert_eq!(out.status.code(), Some(1), "ambiguous, refused: {}", stderr(&out));
    assert!(stderr(&out).contains("ambiguous"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("attacker"));
    // A longer id picks the user's run, and says which run that was.
    let long = commit_of(&repo, "mine")[..12].to_owned();
    let out = repo.exp(&["get", &long, "out.txt", "-o", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "mine\n");
    assert!(stderr(&out).contains("Using run mine for"), "{}", stderr(&out));
    // The full ref always means the name.
    let out = repo.exp(&["show", &format!("refs/experiments/{short}"), "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn destructive_commands_take_no_prefix() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "rf-200", "--", "true"]);
    insta::assert_snapshot!(repo.run(&["rm", "rf-2"]), @r#"
    ------- stderr -------
    error: no run is named exactly 'rf-2'
    hint: commands that delete or rename take an exact name, a full id or `@`; `git exp list` shows the names
    hint: nothing was deleted
    [exit status: 1]
    "#);
    assert_eq!(commit_of(&repo, "rf-200").len(), 40, "rf-200 is still there");
    insta::assert_snapshot!(repo.run(&["rename", "rf-2", "other"]), @r#"
    ------- stderr -------
    error: no run is named exactly 'rf-2'
    hint: commands that delete or rename take an exact name, a full id or `@`; `git exp list` shows the names
    [exit status: 1]
    "#);
    // A prefix still works where nothing is lost, and says what it picked.
    let out = repo.run(&["show", "rf-2"]).ok();
    insta::assert_snapshot!(out.stderr, @r#"
    Using run rf-200 for 'rf-2' (a prefix).
    "#);
    // An exact name, a full id and `@` are accepted.
    let id = repo.list_json()[0]["id"].as_str().unwrap().to_owned();
    repo.exp_ok(&["rename", &id, "rf-300"]);
    repo.exp_ok(&["rm", "-q", "@"]);
    assert!(repo.list_json().is_empty());
}

#[test]
fn a_run_named_at_is_not_the_latest_run() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "old", "--", "true"]);
    repo.exp_ok(&["run", "-q", "-n", "new", "--", "true"]);
    // A forged run named `@` with the oldest start time.
    let exp = repo.show_file("old", "exp.toml").replace("name = \"old\"", "name = \"@\"");
    repo.forge_run("old", "@", &[("exp.toml", Some(exp.as_bytes()))]);
    let shown: serde_json::Value =
        serde_json::from_slice(&repo.exp(&["show", "@", "--format", "json"]).stdout).unwrap();
    assert_eq!(shown["name"], "new", "`@` is the newest run: {shown}");
    repo.exp_ok(&["rm", "-q", "@"]);
    let left: Vec<String> = repo
        .git(&["for-each-ref", "--format=%(refname:strip=2)", "refs/experiments/"])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(left, ["@", "old"], "`rm @` removed the newest run, not the one named `@`");
    // Its full ref reaches it.
    let shown = repo.exp_ok(&["show", "refs/experiments/@"]);
    assert!(shown.starts_with("run @\n"), "{shown}");
    repo.exp_ok(&["rm", "-q", "refs/experiments/@"]);
    let left = repo.git(&["for-each-ref", "--format=%(refname:strip=2)", "refs/experiments/"]);
    assert_eq!(left.trim(), "old");
}

#[test]
fn very_long_names_are_shown_without_a_crash() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "good", "--", "true"]);
    let long = "m".repeat(70_000);
    let summary = format!(
        "[metrics.{long}]\nlast = 1.0\nmin = 1.0\nmax = 1.0\ncount = 1\nlast_step = 0\n\n[metrics.b]\nlast = 2.0\nmin = 2.0\nmax = 2.0\ncount = 1\nlast_step = 0\n"
    );
    repo.forge_run("good", "long", &[("summary.toml", Some(summary.as_bytes()))]);
    let out = repo.exp(&["show", "long"]);
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), stderr(&out));
    assert!(stdout(&out).contains(&long));
}

#[test]
fn report_publishes_the_good_runs_beside_broken_ones() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "good", "--", "true"]);
    repo.forge_run("good", "bad-env", &[("env.toml", Some(b"os = [[[\x1b[2J\n".as_slice()))]);
    repo.forge_run(
        "good",
        "log-tree",
        &[("output.log", None), ("output.log/x", Some(b"x".as_slice()))],
    );
    repo.forge_run(
        "good",
        "bad-artifacts",
        &[("artifacts.toml", Some(b"[[artifact]\n".as_slice()))],
    );
    // A dirty run's code tree, whose object is then lost.
    repo.write("README.md", "changed\n");
    repo.exp_ok(&["run", "-q", "-n", "no-code", "--", "true"]);
    repo.git(&["checkout", "-q", "README.md"]);
    let tree = repo.git(&["rev-parse", "refs/experiments/no-code:code"]).trim().to_owned();
    std::fs::remove_file(repo.root.join(".git/objects").join(&tree[..2]).join(&tree[2..])).unwrap();

    let out = repo.exp(&["report", "-o", "../site"]);
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), stderr(&out));
    assert_clean("report", &out);
    let err = stderr(&out);
    for bad in ["bad-env", "log-tree", "bad-artifacts", "no-code"] {
        let warned = err.lines().filter(|l| l.starts_with("warning: ") && l.contains(bad)).count();
        assert_eq!(warned, 1, "one warning names {bad}:\n{err}");
    }
    let site = repo.tmp.path().join("site");
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.contains("good"), "the good run is published");
    let pages: Vec<String> = std::fs::read_dir(site.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(pages, ["good"], "only the good run has a page");
    assert!(site.join("runs/good/index.html").is_file());
}

/// Renders Markdown as GitHub does (CommonMark plus tables and strikethrough)
/// and returns the HTML.
fn render_gfm(md: &str) -> String {
    use pulldown_cmark::{html, Options, Parser};
    let mut out = String::new();
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    html::push_html(&mut out, Parser::new_ext(md, options));
    out
}

/// Every element of `html` (by name) with its attribute text.
fn elements(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = rest[..end].trim_start_matches('/');
        let name: String =
            tag.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '!').collect();
        out.push((name.to_ascii_lowercase(), tag[name.len()..].trim().to_owned()));
        rest = &rest[end..];
    }
    out
}

#[test]
fn markdown_from_hostile_runs_renders_only_our_own_markup() {
    let repo = TestRepo::new();
    let payloads = [
        "note=<img src=//evil.example/t.png> <!-- hidden",
        "who=@octocat and x@y.example",
        "link=[click](https://evil.example) https://evil.example www.evil.example",
        "code=`x`</details><img src=x>`y`",
        "pipe=a|b\\|c",
    ];
    let mut args = vec!["run", "-q", "-n", "base"];
    args.extend(payloads.iter().flat_map(|p| ["-p", *p]));
    args.extend(["--", "true"]);
    repo.exp_ok(&args);
    repo.exp_ok(&["run", "-q", "-n", "other", "-p", "note=plain", "--", "true"]);
    // A run name git allows but git-exp never makes, with a code span and raw HTML.
    repo.forge_run("base", "x`</details><img/src=/t.png>`y", &[]);
    let allowed = [
        "table", "thead", "tbody", "tr", "th", "td", "p", "strong", "code", "details", "summary",
        "h3", "ul", "li", "sub", "em",
    ];
    for cmd in [
        &["list", "--format", "markdown"][..],
        &["show", "base", "--format", "markdown"],
        &["compare", "base", "other", "--format", "markdown"],
        &[
            "compare",
            "base",
            "refs/experiments/x`</details><img/src=/t.png>`y",
            "--format",
            "markdown",
        ],
    ] {
        let out = repo.exp(cmd);
        assert!(out.status.success(), "{cmd:?}: {}", stderr(&out));
        let md = stdout(&out);
        // The marker comment is ours; nothing else may open a comment.
        let md_body = md.replacen("<!-- git-exp compare -->", "", 1);
        assert!(!md_body.contains("<!--"), "{cmd:?}: a comment from a run:\n{md}");
        let html = render_gfm(&md_body);
        for (name, attrs) in elements(&html) {
            assert!(allowed.contains(&name.as_str()), "{cmd:?}: <{name}> from a run:\n{html}");
            assert!(
                attrs.is_empty() || attrs.starts_with("style=\"text-align"),
                "{cmd:?}: attribute {attrs:?} on <{name}>:\n{html}"
            );
        }
        assert!(!html.contains("@octocat"), "{cmd:?}: a mention:\n{html}");
    }
}

#[test]
fn csv_cells_from_runs_are_never_formulas() {
    let repo = TestRepo::new();
    repo.exp_ok(&[
        "run",
        "-q",
        "-n",
        "r",
        "-p",
        "cmd==HYPERLINK(\"http://e\")",
        "-p",
        "neg=-0.5",
        "-p",
        "at=@SUM(A1)",
        "--",
        "true",
    ]);
    let csv = repo.exp_ok(&[
        "list",
        "--format",
        "csv",
        "--columns",
        "name,params.cmd,params.neg,params.at",
    ]);
    let row = csv.lines().nth(1).unwrap();
    assert_eq!(row, "r,\"'=HYPERLINK(\"\"http://e\"\")\",-0.5,'@SUM(A1)", "{csv}");
}

#[test]
fn refs_that_lead_to_no_run_are_user_errors_and_block_nothing() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "good", "--", "true"]);
    let dir = repo.root.join(".git/refs/experiments");
    std::fs::write(dir.join("dangling"), format!("{}\n", "1234567890".repeat(4))).unwrap();
    std::fs::write(dir.join("garbage"), "garbage\n").unwrap();
    std::fs::write(dir.join("loop1"), "ref: refs/experiments/loop2\n").unwrap();
    std::fs::write(dir.join("loop2"), "ref: refs/experiments/loop1\n").unwrap();
    let blob = repo.git(&["hash-object", "-w", "README.md"]);
    repo.git(&["update-ref", "refs/experiments/blob", blob.trim()]);
    let tree = repo.git(&["write-tree"]);
    repo.git(&["update-ref", "refs/experiments/tree", tree.trim()]);
    repo.git(&["tag", "-a", "-m", "t", "t1", "HEAD"]);
    let tag = repo.git(&["rev-parse", "t1"]);
    repo.git(&["update-ref", "refs/experiments/tag", tag.trim()]);

    let out = repo.exp(&["list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("good"));
    let err = stderr(&out);
    for bad in ["dangling", "garbage", "loop1", "blob", "tree", "tag"] {
        assert!(err.lines().any(|l| l.starts_with("warning: ") && l.contains(bad)), "{bad}: {err}");
    }
    for bad in ["dangling", "garbage", "loop1", "blob", "tree", "tag"] {
        for args in [vec!["show", bad], vec!["get", bad, "x"]] {
            let out = repo.exp(&args);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
            assert!(stderr(&out).contains("hint: "), "{args:?}: {}", stderr(&out));
        }
    }
    // A ref to a missing commit stops gc (the object may be only out of reach,
    // and its run's artifacts unknown); refs that cannot be runs do not.
    let out = repo.exp(&["gc", "--dry-run"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot read run dangling"), "{}", stderr(&out));
    repo.exp_ok(&["rm", "-q", "dangling"]);
    let out = repo.exp(&["gc", "--dry-run"]);
    assert!(out.status.success(), "gc is not blocked: {}", stderr(&out));
    // Refs that name an object can be deleted by their exact name; one git
    // cannot read is a user error with a way out.
    repo.exp_ok(&["rm", "-q", "blob", "tree", "tag"]);
    for bad in ["garbage", "loop1"] {
        let out = repo.exp(&["rm", bad]);
        assert_eq!(out.status.code(), Some(1), "rm {bad}: {}", stderr(&out));
        assert!(stderr(&out).contains("hint: "), "{}", stderr(&out));
    }
}

#[test]
fn push_sends_the_good_runs_and_holds_back_damaged_ones_with_the_reason() {
    let repo = TestRepo::new();
    let remote = repo.tmp.path().join("remote.git");
    repo.git(&["init", "-q", "--bare", remote.to_str().unwrap()]);
    // The other side checks what it receives, as hosting services do.
    repo.git(&["-C", remote.to_str().unwrap(), "config", "receive.fsckObjects", "true"]);
    repo.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    repo.exp_ok(&["run", "-q", "-n", "good", "--", "true"]);
    let tree = repo.git(&["rev-parse", "refs/experiments/good^{tree}"]).trim().to_owned();
    // A run whose parent commit is missing.
    let lost = repo.git(&["commit-tree", &tree, "-m", "lost"]).trim().to_owned();
    let orphan = repo.git(&["commit-tree", &tree, "-p", &lost, "-m", "exp: orphan"]);
    std::fs::remove_file(repo.root.join(".git/objects").join(&lost[..2]).join(&lost[2..])).unwrap();
    repo.git(&["update-ref", "refs/experiments/orphan", orphan.trim()]);
    // A run whose tree has an entry with an empty name.
    let entries = repo.git(&["ls-tree", &tree]);
    let blob = repo.git(&["rev-parse", "refs/experiments/good:exp.toml"]);
    let bad_tree = repo
        .git_input(&["mktree", "--missing"], &format!("{entries}100644 blob {}\t\n", blob.trim()));
    let bad_tree = bad_tree.trim();
    let head = repo.git(&["rev-parse", "HEAD"]);
    let empty = repo.git(&["commit-tree", bad_tree, "-p", head.trim(), "-m", "exp: empty-name"]);
    repo.git(&["update-ref", "refs/experiments/empty-name", empty.trim()]);
    // More damaged runs, sorted before the good one: still only they stay behind.
    for name in ["a1", "a2", "a3"] {
        let msg = format!("exp: {name}");
        let c = repo.git(&["commit-tree", bad_tree, "-p", head.trim(), "-m", &msg]);
        repo.git(&["update-ref", &format!("refs/experiments/{name}"), c.trim()]);
    }

    let out = repo.exp(&["push", "origin", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!out.stdout.is_empty(), "a report, not a failed push: {}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcome = |name: &str| {
        report["runs"].as_array().unwrap().iter().find(|r| r["name"] == name).unwrap().clone()
    };
    assert_eq!(outcome("good")["outcome"], "new", "{report}");
    for bad in ["orphan", "empty-name", "a1", "a2", "a3"] {
        assert_eq!(outcome(bad)["outcome"], "held-back", "{report}");
        assert!(outcome(bad)["reason"].as_str().unwrap().starts_with("git could not send it"));
        assert!(
            stderr(&out)
                .contains(&format!("error: run {bad} was not pushed: git could not send it")),
            "{}",
            stderr(&out)
        );
    }
    assert!(!stderr(&out).contains("meanwhile"), "{}", stderr(&out));
    let theirs = repo.git(&["ls-remote", remote.to_str().unwrap(), "refs/experiments/*"]);
    let names: Vec<&str> = theirs.lines().map(|l| l.rsplit('/').next().unwrap()).collect();
    assert_eq!(names, ["good"], "{theirs}");
}

#[test]
fn pull_imports_no_ref_that_is_not_a_commit() {
    let theirs = TestRepo::new();
    theirs.exp_ok(&["run", "-q", "-n", "good", "--", "true"]);
    let blob = theirs.git(&["hash-object", "-w", "README.md"]);
    theirs.git(&["update-ref", "refs/experiments/blob", blob.trim()]);
    let tree = theirs.git(&["write-tree"]);
    theirs.git(&["update-ref", "refs/experiments/tree", tree.trim()]);
    let mine = TestRepo::new();
    mine.git(&["remote", "add", "origin", theirs.root.to_str().unwrap()]);
    let out = mine.exp(&["pull", "origin"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("error: run blob was not fetched: it points at a blob, not a commit"),
        "{err}"
    );
    assert!(
        err.contains("error: run tree was not fetched: it points at a tree, not a commit"),
        "{err}"
    );
    let refs = mine.git(&["for-each-ref", "--format=%(refname)", "refs/experiments/"]);
    assert_eq!(refs.trim(), "refs/experiments/good");
}

#[test]
fn a_fetched_run_claiming_a_future_start_is_not_the_latest_run() {
    let repo = TestRepo::new();
    repo.exp_ok(&["run", "-q", "-n", "mine", "-a", "m.txt", "--", "sh", "-c", "echo mine > m.txt"]);
    let exp = repo.show_file("mine", "exp.toml");
    let started = exp.lines().find(|l| l.starts_with("started = ")).unwrap();
    let future = exp.replace(started, "started = \"2099-01-01T00:00:00.000Z\"");
    repo.forge_run(
        "mine",
        "theirs",
        &[("exp.toml", Some(future.as_bytes())), ("artifacts/m.txt", Some(b"theirs\n".as_slice()))],
    );
    let out = repo.exp(&["get", "@", "m.txt", "-o", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "mine\n", "`@` is the newest run made here");
    // Where no run was made, `@` is the newest of all.
    let clone = TestRepo::new();
    clone.git(&[
        "fetch",
        "-q",
        repo.root.to_str().unwrap(),
        "refs/experiments/*:refs/experiments/*",
    ]);
    let shown: serde_json::Value =
        serde_json::from_slice(&clone.exp(&["show", "@", "--format", "json"]).stdout).unwrap();
    assert_eq!(shown["name"], "theirs");
}
