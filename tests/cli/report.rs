//! `git exp report`: the static site's pages, links, escaping, determinism and
//! incremental rebuilds, on a temporary repository.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::{stderr, TestRepo};

fn run(repo: &TestRepo, name: &str, params: &[&str], script: &str) {
    let mut args = vec!["run", "-q", "-n", name];
    for p in params {
        args.extend(["-p", p]);
    }
    args.extend(["--", "sh", "-c", script]);
    repo.exp_ok(&args);
}

const CURVE: &str = r#"i=0; while [ $i -lt 50 ]; do printf '{"loss": %s.5, "acc": 0.%s}\n' $((50 - i)) $i >> "$GIT_EXP_EVENTS"; i=$((i+1)); done"#;

fn site_repo() -> TestRepo {
    let repo = TestRepo::new();
    run(&repo, "base", &["lr=0.1"], CURVE);
    // A run whose name, params, metric names and tags carry markup, quotes and unicode.
    let evil = r#"printf '%s\n' '{"<script>alert(1)</script>": 1, "loss": 2, "_tag": "\"><img src=x onerror=alert(1)>", "_note": "<b>bold</b> ünïcödé"}' >> "$GIT_EXP_EVENTS"; mkdir -p "$GIT_EXP_DIR/artifacts"; printf '\211PNG\r\n\032\n' > "$GIT_EXP_DIR/artifacts/plot.png""#;
    // Uncommitted changes: the run page shows them as the code diff.
    repo.write("README.md", "hello\nchanged\n");
    run(&repo, "group/evil", &["note=<script>x</script>", "q=\"quoted\""], evil);
    repo
}

fn files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.insert(p);
        }
    }
    out
}

/// Decodes the character references the templates' escaping produces.
fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        for part in html.split(attr).skip(1) {
            out.push(unescape(part.split('"').next().unwrap()));
        }
    }
    out
}

#[test]
fn the_site_has_every_page_and_every_link_resolves() {
    let repo = site_repo();
    let out = repo.exp(&["report", "-o", "site", "--title", "T"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let site = repo.root.join("site");
    for page in [
        "index.html",
        "compare.html",
        "runs/base/index.html",
        "runs/group/evil/index.html",
        "assets/site.css",
        "assets/site.js",
        "runs/group/evil/artifacts/plot.png",
    ] {
        assert!(site.join(page).is_file(), "{page} missing");
    }
    for file in files(&site).into_iter().filter(|f| f.extension().is_some_and(|e| e == "html")) {
        let html = std::fs::read_to_string(&file).unwrap();
        assert!(html.contains("Content-Security-Policy"), "{}", file.display());
        for link in links(&html) {
            assert!(
                !link.contains("://") && !link.starts_with("//"),
                "{} links to another origin: {link}",
                file.display()
            );
            let target = file.parent().unwrap().join(&link);
            assert!(target.is_file(), "{}: link {link} does not resolve", file.display());
        }
        assert!(!html.contains("<script>alert"), "{} has unescaped markup", file.display());
        assert!(!html.contains("<img src=x"), "{}", file.display());
        assert!(!html.contains("<b>bold</b>"), "{}", file.display());
    }
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(unescape(&index).contains("href=\"runs/group/evil/index.html\""));
    assert!(index.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "metric names are escaped");
    let evil = std::fs::read_to_string(site.join("runs/group/evil/index.html")).unwrap();
    assert!(evil.contains("&lt;b&gt;bold&lt;&#x2f;b&gt; ünïcödé"));
    assert!(unescape(&evil).contains("<img src=\"artifacts/plot.png\""), "inline images are shown");
    assert!(evil.contains("+changed"), "the code diff against the parent commit");
    assert!(unescape(&evil).contains("href=\"../../../assets/site.css\""));
    let base = std::fs::read_to_string(site.join("runs/base/index.html")).unwrap();
    assert_eq!(base.matches("<polyline").count(), 4, "loss and acc, by step and by time");
}

#[test]
fn output_is_deterministic_and_rebuilds_are_incremental() {
    let repo = site_repo();
    repo.exp_ok(&["report", "-o", "a"]);
    repo.exp_ok(&["report", "-o", "b"]);
    let (a, b) = (repo.root.join("a"), repo.root.join("b"));
    let rel = |d: &Path| {
        files(d).into_iter().map(|f| f.strip_prefix(d).unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(rel(&a), rel(&b));
    for f in rel(&a) {
        assert_eq!(
            std::fs::read(a.join(&f)).unwrap(),
            std::fs::read(b.join(&f)).unwrap(),
            "{}",
            f.display()
        );
    }
    // Nothing changed: nothing rendered or written.
    let out = repo.exp(&["report", "-o", "a"]);
    assert!(
        stderr(&out).contains("0 page(s) rendered, 2 unchanged, 0 file(s) written"),
        "{}",
        stderr(&out)
    );
    // A new run: only its page is rendered; the site-wide pages follow.
    run(&repo, "third", &["lr=0.3"], CURVE);
    let page = a.join("runs/base/index.html");
    let before = std::fs::metadata(&page).unwrap().modified().unwrap();
    let out = repo.exp(&["report", "-o", "a"]);
    assert!(stderr(&out).contains("1 page(s) rendered, 2 unchanged"), "{}", stderr(&out));
    assert_eq!(std::fs::metadata(&page).unwrap().modified().unwrap(), before);
    // Selecting fewer runs removes the others' pages.
    let out = repo.exp(&["report", "-o", "a", "--filter", "params.lr >= 0.3"]);
    assert!(stderr(&out).contains("2 removed"), "{}", stderr(&out));
    assert!(!a.join("runs/base/index.html").exists() && a.join("runs/third/index.html").exists());
    // A manifest that names other paths (the directory may come from a cache) removes nothing else.
    repo.write("victim.txt", "keep me\n");
    std::fs::write(
        a.join(".git-exp-report.json"),
        r#"{"format": 1, "templates": "", "pages": {"../victim.txt": "x", "runs/../../victim.txt": "y"}}"#,
    )
    .unwrap();
    repo.exp_ok(&["report", "-o", "a"]);
    assert_eq!(std::fs::read_to_string(repo.root.join("victim.txt")).unwrap(), "keep me\n");
}

#[test]
fn templates_can_be_overridden_and_errors_name_the_template() {
    let repo = site_repo();
    repo.write("tpl/index.html", "{% extends \"base.html\" %}{% block main %}<p id=custom>{{ runs | length }} runs: {% for r in runs %}{{ r.name }} {% endfor %}</p>{% endblock %}");
    repo.exp_ok(&["report", "-o", "site", "--templates", "tpl"]);
    let index = std::fs::read_to_string(repo.root.join("site/index.html")).unwrap();
    assert!(unescape(&index).contains("<p id=custom>2 runs: group/evil base </p>"), "{index}");
    repo.write("tpl/index.html", "{% for %}");
    let out = repo.exp(&["report", "-o", "site", "--templates", "tpl"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: template index.html: "), "{}", stderr(&out));
}
