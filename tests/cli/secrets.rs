//! Secrets never reach a run or its report: secret files stay out of the `code`
//! tree (by name, by content and by `exp.codeExclude`), and a corpus of fake
//! credentials of every kind, in every channel a run has, is redacted from every
//! object reachable from the run and from every file of the report site.
//!
//! See: issue 11, items 4 and 5.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{stderr, TestRepo};

/// A deterministic string of `len` characters of `alphabet`; fake credentials
/// are assembled at run time so that secret scanners on git hosts do not flag
/// this file.
fn random(seed: u64, alphabet: &str, len: usize) -> String {
    let chars: Vec<char> = alphabet.chars().collect();
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chars[(state % chars.len() as u64) as usize]
        })
        .collect()
}

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEX: &str = "0123456789abcdef";

/// One realistic fake of each kind of credential the redaction knows, by kind.
fn corpus() -> BTreeMap<&'static str, String> {
    let mut c = BTreeMap::new();
    c.insert("aws_key_id", format!("AKIA{}", random(1, UPPER, 16)));
    c.insert("aws_secret", random(2, BASE64, 40));
    c.insert("github", format!("ghp_{}", random(3, ALNUM, 36)));
    c.insert(
        "github_pat",
        format!("github_pat_11{}_{}", random(4, ALNUM, 20), random(5, ALNUM, 59)),
    );
    c.insert("gitlab", format!("glpat-{}", random(6, ALNUM, 20)));
    c.insert(
        "slack",
        format!(
            "xoxb-{}-{}-{}",
            random(7, "0123456789", 12),
            random(8, "0123456789", 13),
            random(9, ALNUM, 24)
        ),
    );
    c.insert("openai", format!("sk-proj-{}", random(10, ALNUM, 48)));
    c.insert("stripe", format!("sk_live_{}", random(11, ALNUM, 24)));
    c.insert("stripe_restricted", format!("rk_live_{}", random(12, ALNUM, 24)));
    c.insert("npm", format!("npm_{}", random(13, ALNUM, 36)));
    c.insert("pypi", format!("pypi-AgEIcHlwaS5vcmc{}", random(14, ALNUM, 60)));
    c.insert("huggingface", format!("hf_{}", random(15, ALNUM, 34)));
    c.insert("google", format!("AIza{}", random(16, ALNUM, 35)));
    c.insert("databricks", format!("dapi{}", random(17, HEX, 32)));
    c.insert("azure_storage", format!("{}==", random(18, BASE64, 86)));
    c.insert(
        "jwt",
        format!("eyJhbGciOiJIUzI1NiJ9.eyJ{}.{}", random(19, ALNUM, 30), random(20, ALNUM, 43)),
    );
    c
}

/// A fake PEM private key block (with real line breaks).
fn pem() -> String {
    let body: Vec<String> = (0..20).map(|i| random(30 + i, BASE64, 64)).collect();
    format!("-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----", body.join("\n"))
}

/// Every 16-character window of `secret`: a secret cut in two must not leave a
/// recognisable part behind either.
fn windows(secret: &str) -> Vec<String> {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 16 {
        return vec![secret.to_owned()];
    }
    chars.windows(16).map(|w| w.iter().collect()).collect()
}

/// The text of every object reachable from the run and not from HEAD.
fn run_objects(repo: &TestRepo, name: &str) -> String {
    let spec = format!("refs/experiments/{name}");
    let objects = repo.git(&["rev-list", "--objects", &spec, "--not", "HEAD"]);
    let mut all = String::new();
    for line in objects.lines() {
        let id = line.split(' ').next().unwrap();
        let kind = repo.git(&["cat-file", "-t", id]);
        let pretty = if kind.trim() == "blob" { "blob" } else { "-p" };
        let args: Vec<&str> = if pretty == "blob" {
            vec!["cat-file", "blob", id]
        } else {
            vec!["cat-file", "-p", id]
        };
        all.push_str(&repo.git(&args));
        all.push('\n');
    }
    all
}

fn site_text(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            site_text(&path, out);
        } else {
            out.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
            out.push('\n');
        }
    }
}

fn assert_no_leak(haystack: &str, secrets: &[(String, String)], place: &str) {
    for (kind, secret) in secrets {
        for window in windows(secret) {
            assert!(!haystack.contains(&window), "{kind} ({window}) reached {place}");
        }
    }
}

#[test]
fn no_fake_credential_reaches_any_object_of_the_run_nor_the_report_site() {
    let repo = TestRepo::new();
    repo.git(&["config", "exp.outputLimit", "4000"]);
    let corpus = corpus();
    let pem = pem();
    let wandb_key = random(40, HEX, 40);
    let stripe_env = format!("opaque-{}", random(41, ALNUM, 20));
    let gh_pat_env = format!("opaque-{}", random(42, ALNUM, 20));
    let nccl_key = format!("opaque-{}", random(43, ALNUM, 20));
    let wandb_env = random(44, HEX, 40);
    let commit_id = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();

    let all_tokens: Vec<&str> = corpus.values().map(String::as_str).collect();
    let joined = all_tokens.join(" ");
    let dir = repo.tmp.path();
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write("tokens.txt", &format!("{joined}\n"));
    write("pem.txt", &format!("{pem}\n"));
    // Events: every token as a config value, a summary value, a tag, in the
    // note, as a metric name; a private key and a token in malformed lines (the
    // token past the 120 characters a malformed line's sample keeps).
    let mut events = String::new();
    for (i, token) in all_tokens.iter().enumerate() {
        events.push_str(&format!(
            "{{\"_config\": {{\"c{i}\": \"{token}\"}}, \"_summary\": {{\"s{i}\": \"{token}\"}}, \"_tag\": \"{token}\"}}\n"
        ));
        events.push_str(&format!("{{\"{token}\": {i}}}\n"));
    }
    events.push_str(&format!("{{\"_note\": \"{joined}\"}}\n"));
    events.push_str(&format!("{{\"_config\": {{\"wandb_key\": \"{wandb_key}\"}}}}\n"));
    let escaped_pem = pem.replace('\n', "\\n");
    events.push_str(&format!("{{\"pem\": \"{escaped_pem}\"\n"));
    let github = &corpus["github"];
    // 13 + 78 + 9 characters before the token: 20 of its characters fall within the sample.
    events.push_str(&format!("{{\"padding\": \"{}\", \"t\": \"{github}\" oops\n", "x".repeat(78)));
    write("events.jsonl", &events);
    // Output: a token straddling the cut of the head (2000 bytes), a private key
    // whose BEGIN line falls in the dropped middle and whose body reaches into
    // the tail, then every token in the tail, on stdout and stderr; the W&B key
    // in the shapes W&B prints it in; a commit id, which must stay.
    let filler = "f".repeat(1975);
    let script = format!(
        r#"printf '%s {straddle}\n' "{filler}"
i=0; while [ $i -lt 200 ]; do echo "middle line $i"; i=$((i+1)); done
cat "{pem_file}"
cat "{tokens}"
cat "{tokens}" >&2
echo "wandb login {wandb_key}"
echo "wandb.login(key='{wandb_key}')"
echo "$STRIPE_KEY $GH_PAT $wandb_key $NCCL_SOCKET_IFNAME"
echo "at commit {commit_id}"
cat "{events}" >> "$GIT_EXP_EVENTS"
"#,
        straddle = corpus["stripe"],
        pem_file = dir.join("pem.txt").display(),
        tokens = dir.join("tokens.txt").display(),
        events = dir.join("events.jsonl").display(),
    );
    // The key straddles byte 2000: 1975 + a space + 24 of its characters in the head.
    let script_path = repo.script("leak.sh", &script);
    let mut args: Vec<String> = ["run", "-n", "leaky"].iter().map(|s| s.to_string()).collect();
    for (i, token) in all_tokens.iter().enumerate() {
        args.extend(["-p".into(), format!("p{i}={token}")]);
    }
    args.extend(["-p".into(), format!("wandb_key={wandb_key}")]);
    for token in &all_tokens {
        args.extend(["-t".into(), token.to_string()]);
    }
    args.extend(["-m".into(), format!("see {joined}")]);
    args.push("--".into());
    args.push(script_path.display().to_string());
    args.extend(all_tokens.iter().map(|t| t.to_string()));
    args.extend(["--wandb-key".into(), wandb_key.clone(), "login".into(), wandb_key.clone()]);
    args.extend(["--stripe-key".into(), stripe_env.clone()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = repo
        .cmd_in(&repo.root, &args)
        .env("STRIPE_KEY", &stripe_env)
        .env("GH_PAT", &gh_pat_env)
        .env("wandb_key", &wandb_env)
        .env("NCCL_IB_KEY", &nccl_key)
        .env("NCCL_SOCKET_IFNAME", &corpus["aws_secret"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let mut secrets: Vec<(String, String)> =
        corpus.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    secrets.push(("wandb".into(), wandb_key.clone()));
    secrets.push(("wandb_key".into(), wandb_env));
    secrets.push(("STRIPE_KEY".into(), stripe_env));
    secrets.push(("GH_PAT".into(), gh_pat_env));
    secrets.push(("NCCL_IB_KEY".into(), nccl_key));
    for (i, line) in pem.lines().enumerate().skip(1) {
        if !line.starts_with("-----") {
            secrets.push((format!("pem line {i}"), line.to_owned()));
        }
    }
    let objects = run_objects(&repo, "leaky");
    assert_no_leak(&objects, &secrets, "an object of the run");
    assert!(objects.contains("[REDACTED]"));
    // Not a secret: the commit id, the output around the redactions, the
    // allowlisted variable without a key in its name.
    let log = repo.show_file("leaky", "output.log");
    assert!(log.contains(&format!("at commit {commit_id}")), "{log}");
    assert!(log.contains("output cut") && log.contains("wandb login [REDACTED]"), "{log}");
    // Every channel was exercised: the redactions stand where the values were.
    assert!(log.starts_with(&format!("{filler} [REDACTED]\n")), "{log}");
    assert!(log.contains("events line"), "{log}");
    let exp: toml::Table = toml::from_str(&repo.show_file("leaky", "exp.toml")).unwrap();
    assert!(exp["malformed_events"]["count"].as_integer() == Some(2), "{exp}");
    assert!(exp["tags"].as_array().unwrap().iter().all(|t| t.as_str() == Some("[REDACTED]")));
    assert!(exp["note"].as_str().unwrap().starts_with("see [REDACTED] [REDACTED]"), "{exp}");
    let config: toml::Table = toml::from_str(&repo.show_file("leaky", "config.toml")).unwrap();
    assert_eq!(config["p0"].as_str(), Some("[REDACTED]"), "{config}");
    assert_eq!(config["c0"].as_str(), Some("[REDACTED]"), "{config}");
    assert!(repo.show_file("leaky", "metrics.csv").contains(",[REDACTED],"));
    let command: Vec<&str> =
        exp["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(
        command[1..]
            .iter()
            .all(|a| ["[REDACTED]", "--wandb-key", "login", "--stripe-key"].contains(a)),
        "{command:?}"
    );
    let env = repo.show_file("leaky", "env.toml");
    assert!(env.contains("NCCL_SOCKET_IFNAME") && !env.contains("NCCL_IB_KEY"), "{env}");

    let site = repo.tmp.path().join("site");
    repo.exp_ok(&["report", "-o", site.to_str().unwrap()]);
    let mut text = String::new();
    site_text(&site, &mut text);
    assert!(text.contains("leaky"));
    assert_no_leak(&text, &secrets, "the report site");
}

/// The paths of the run's `code` tree.
fn code_paths(repo: &TestRepo, name: &str) -> Vec<String> {
    let spec = format!("refs/experiments/{name}:code");
    repo.git(&["ls-tree", "-r", "--name-only", &spec]).lines().map(str::to_owned).collect()
}

/// `code_skipped` of a run: path to reason.
fn code_skipped(repo: &TestRepo, name: &str) -> BTreeMap<String, String> {
    let exp: toml::Table = toml::from_str(&repo.show_file(name, "exp.toml")).unwrap();
    exp.get("code_skipped")
        .and_then(|v| v.as_array())
        .map(|items| {
            items
                .iter()
                .map(|s| {
                    (
                        s["path"].as_str().unwrap().to_owned(),
                        s["reason"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn untracked_secret_files_stay_out_of_the_code_tree_by_name() {
    let repo = TestRepo::new();
    let names = [
        "service-account.json",
        "gcp/my-project-service-account.json",
        "secrets.yml",
        "config/secrets.json",
        "id_dsa",
        "keys/deploy.ppk",
        ".pgpass",
        "prod.env",
        ".docker/config.json",
        ".kube/config",
        "infra/terraform.tfvars",
        "infra/terraform.tfstate",
        ".htpasswd",
    ];
    for name in names {
        repo.write(name, "opaque\n");
    }
    repo.write("train.py", "print(1)\n");
    repo.write("docker/config.json", "{}\n");
    repo.exp_ok(&["run", "-q", "-n", "named", "--", "true"]);
    let paths = code_paths(&repo, "named");
    let skipped = code_skipped(&repo, "named");
    for name in names {
        assert!(!paths.iter().any(|p| p == name), "{name} is in the code tree: {paths:?}");
        assert_eq!(
            skipped.get(name).map(String::as_str),
            Some("looks like a secret file"),
            "{name}"
        );
    }
    assert!(
        paths.contains(&"train.py".to_owned()) && paths.contains(&"docker/config.json".to_owned())
    );
}

#[test]
fn untracked_files_holding_secrets_stay_out_of_the_code_tree_by_content() {
    let repo = TestRepo::new();
    let token = format!("glpat-{}", random(50, ALNUM, 20));
    let password = format!("pw-{}", random(51, ALNUM, 12));
    repo.write("config.ini", &format!("[db]\nhost = localhost\npassword = {password}\n"));
    repo.write("settings.py", &format!("DEBUG = True\nDB_PASSWORD = \"{password}\"\n"));
    repo.write("notes/key.txt", &format!("here:\n{}\n", pem()));
    repo.write("deploy.sh", &format!("#!/bin/sh\ncurl -H 'PRIVATE-TOKEN: x' {token}\n"));
    // Code that reads a secret, not one: kept.
    repo.write("db.py", "password = os.environ[\"DB_PASSWORD\"]\nkey = cfg.key\n");
    repo.write("model.yaml", "max_tokens: 512\ntokenizer: gpt2\npad_token: '<pad>'\n");
    // A tracked file is in git already: kept, even when it changes.
    repo.write("tracked.ini", "user = a\n");
    repo.git(&["add", "tracked.ini"]);
    repo.git(&["commit", "-q", "-m", "tracked"]);
    repo.write("tracked.ini", "user = a\nlr = 0.1\n");
    // The value of a secret environment variable, in a file of no known shape.
    let env_secret = format!("opaque-{}", random(52, ALNUM, 16));
    repo.write("notes.md", &format!("# notes\n\nthe value is {env_secret}\n"));
    let out = repo
        .cmd_in(&repo.root, &["run", "-q", "-n", "scanned", "--", "true"])
        .env("MY_SERVICE_TOKEN", &env_secret)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let paths = code_paths(&repo, "scanned");
    let skipped = code_skipped(&repo, "scanned");
    assert_eq!(
        skipped.get("notes.md").map(String::as_str),
        Some("holds what looks like the value of a secret environment variable (line 3)")
    );
    for name in ["config.ini", "settings.py", "notes/key.txt", "deploy.sh"] {
        assert!(!paths.iter().any(|p| p == name), "{name} is in the code tree");
        let reason = skipped.get(name).unwrap_or_else(|| panic!("{name} not listed: {skipped:?}"));
        assert!(reason.starts_with("holds what looks like "), "{name}: {reason}");
    }
    assert!(skipped["notes/key.txt"].contains("private key"), "{skipped:?}");
    assert!(skipped["config.ini"].contains("line 3"), "{skipped:?}");
    for name in ["db.py", "model.yaml", "tracked.ini"] {
        assert!(paths.iter().any(|p| p == name), "{name} is missing from the code tree");
    }
    let all = run_objects(&repo, "scanned");
    assert!(!all.contains(&token) && !all.contains(&password) && !all.contains(&env_secret));
}

#[test]
fn code_exclude_patterns_from_git_config_leave_files_out() {
    let repo = TestRepo::new();
    repo.git(&["config", "--add", "exp.codeExclude", "*.secret"]);
    repo.git(&["config", "--add", "exp.codeExclude", "private/**"]);
    repo.git(&["config", "--add", "exp.codeExclude", "data/local.json"]);
    repo.write("a.secret", "x\n");
    repo.write("sub/b.secret", "x\n");
    repo.write("private/notes/c.md", "x\n");
    repo.write("data/local.json", "{}\n");
    repo.write("data/other.json", "{}\n");
    repo.exp_ok(&["run", "-q", "-n", "excluded", "--", "true"]);
    let paths = code_paths(&repo, "excluded");
    let skipped = code_skipped(&repo, "excluded");
    for name in ["a.secret", "sub/b.secret", "private/notes/c.md", "data/local.json"] {
        assert!(!paths.iter().any(|p| p == name), "{name} is in the code tree");
        assert_eq!(
            skipped.get(name).map(String::as_str),
            Some("matches exp.codeExclude"),
            "{name}"
        );
    }
    assert!(paths.contains(&"data/other.json".to_owned()), "{paths:?}");

    repo.git(&["config", "--add", "exp.codeExclude", "[oops"]);
    let out = repo.exp(&["run", "-q", "-n", "bad", "--", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("invalid exp.codeExclude pattern '[oops'") && err.contains("hint: "),
        "{err}"
    );
}

// A secret filled into a committed template would reach the run's `code` tree
// and every push of it. See: issue 11.
#[test]
fn a_secret_added_to_a_tracked_file_keeps_the_committed_version_in_the_code_tree() {
    let repo = TestRepo::new();
    repo.write("config.yaml", "model: resnet\napi_key: \"\"\n");
    repo.write("settings.ini", "[db]\npassword = hunter2-committed\n");
    repo.git(&["add", "config.yaml", "settings.ini"]);
    repo.git(&["commit", "-q", "-m", "templates"]);
    let token = format!("ghp_{}", random(9, ALNUM, 36));
    repo.write("config.yaml", &format!("model: resnet50\napi_key: \"{token}\"\n"));
    // Already committed with its secret: a change elsewhere in it is kept.
    repo.write("settings.ini", "[db]\npassword = hunter2-committed\nport = 5432\n");
    repo.exp_ok(&["run", "-q", "-n", "r", "--", "true"]);
    let code = repo.show_file("r", "code/config.yaml");
    assert_eq!(code, "model: resnet\napi_key: \"\"\n", "the committed version");
    assert!(repo.show_file("r", "code/settings.ini").contains("port = 5432"));
    let skipped = code_skipped(&repo, "r");
    let reason = &skipped["config.yaml"];
    assert!(reason.contains("the committed version is kept"), "{reason}");
    assert!(
        !run_objects(&repo, "r").contains(&token[..20]),
        "the token is in no object of the run"
    );
}

// A value git-exp judges secret in the command line or the params is redacted
// in the output too. See: issue 11.
#[test]
fn secret_params_and_arguments_are_redacted_in_the_output_too() {
    let repo = TestRepo::new();
    let script = repo.script("show.sh", "echo \"connecting with $DB\"; echo \"args: $*\"");
    let out = repo
        .cmd_in(
            &repo.root,
            &[
                "run",
                "-q",
                "-n",
                "r",
                "-p",
                "db_password=hunter22xyz",
                "--",
                "env",
                "DB={db_password}",
                script.to_str().unwrap(),
                "--password",
                "s3cr3t-arg",
                "--api-key=k3y-v4lue-1",
            ],
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let log = repo.show_file("r", "output.log");
    for secret in ["hunter22xyz", "s3cr3t-arg", "k3y-v4lue-1"] {
        assert!(!log.contains(secret), "{secret} in output.log:\n{log}");
        assert!(!run_objects(&repo, "r").contains(secret), "{secret} in an object of the run");
    }
    assert!(log.contains("connecting with [REDACTED]"), "{log}");
}
