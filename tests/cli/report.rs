//! `git exp report`: the static site's pages, links, escaping, determinism and
//! incremental rebuilds, on a temporary repository.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::{sha256_hex, stderr, TestRepo};

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
    ] {
        assert!(site.join(page).is_file(), "{page} missing");
    }
    // Inline artifacts are named by their content's hash.
    let plot = format!("artifacts/{}.png", sha256_hex(b"\x89PNG\r\n\x1a\n"));
    assert!(site.join("runs/group/evil").join(&plot).is_file(), "{plot} missing");
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
    assert!(evil.contains("&lt;b&gt;bold&lt;/b&gt; ünïcödé"));
    assert!(unescape(&evil).contains(&format!("<img src=\"{plot}\"")), "inline images are shown");
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

/// What the scripts of the hostile artifacts write into their document when
/// they run; built at run time, so a file shown as text does not contain it.
pub(crate) const XSS_MARKER: &str = "XSSRAN";
const XSS_SCRIPT: &str = "document.documentElement.setAttribute('data-xss', 'XSS' + 'RAN')";

/// A 2x2 PNG, made with the png crate.
fn real_png() -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 2, 2);
    encoder.set_color(png::ColorType::Rgb);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[200, 30, 30].repeat(4)).unwrap();
    writer.finish().unwrap();
    bytes
}

fn git_bytes(repo: &TestRepo, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut cmd = std::process::Command::new("git");
    repo.env(&mut cmd);
    let mut child = cmd
        .args(args)
        .current_dir(&repo.root)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git {args:?} failed");
    out.stdout
}

fn git_stdin(repo: &TestRepo, args: &[&str], input: &[u8]) -> String {
    String::from_utf8(git_bytes(repo, args, input)).unwrap().trim().to_owned()
}

/// The artifact name longer than a file name may be (255 bytes), which only
/// git plumbing can put into a run.
pub(crate) fn long_name() -> String {
    format!("{}.html", "a".repeat(300))
}

/// A repository with a plain run `base` and a run `hostile` whose inline
/// artifacts are active documents (HTML, SVG, XHTML, XML, JavaScript, an HTML
/// file without extension or named `.png`) whose scripts set [`XSS_MARKER`],
/// and one real PNG. Its `artifacts.toml` was then rewritten with git
/// plumbing, as anyone who can push a run can: every media type says
/// `image/png`, and an artifact with a 300-byte name was added.
pub(crate) fn hostile_repo() -> TestRepo {
    let repo = TestRepo::new();
    run(&repo, "base", &["lr=0.1"], CURVE);
    let html =
        format!("<!doctype html><html><body><p>hi</p><script>{XSS_SCRIPT}</script></body></html>");
    let xhtml = format!(
        "<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\"><body><script>{XSS_SCRIPT}</script></body></html>"
    );
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><script>{XSS_SCRIPT}</script><rect width=\"10\" height=\"10\"/></svg>"
    );
    let files: &[(&str, &[u8])] = &[
        ("page.html", html.as_bytes()),
        ("page.htm", html.as_bytes()),
        ("plot.svg", svg.as_bytes()),
        ("doc.xhtml", xhtml.as_bytes()),
        ("feed.xml", xhtml.as_bytes()),
        ("app.js", XSS_SCRIPT.as_bytes()),
        ("README", html.as_bytes()),
        ("fake.png", html.as_bytes()),
        ("sub/index.html", html.as_bytes()),
        ("real.png", &real_png()),
    ];
    let fixture = repo.tmp.path().join("hostile");
    for (name, bytes) in files {
        let path = fixture.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let script = format!("cp -R '{}/.' \"$GIT_EXP_DIR/artifacts/\"", fixture.display());
    run(&repo, "hostile", &[], &format!("mkdir -p \"$GIT_EXP_DIR/artifacts\"; {script}"));

    // Rewrite the run with plumbing: artifacts.toml claims every file is a PNG,
    // and one more artifact has a name no file system takes.
    let run_ref = "refs/experiments/hostile";
    let long = long_name();
    let mut toml = repo.show_file("hostile", "artifacts.toml");
    for media_type in ["text/html", "image/svg+xml", "application/octet-stream"] {
        toml =
            toml.replace(&format!("media_type = \"{media_type}\""), "media_type = \"image/png\"");
    }
    toml.push_str(&format!(
        "\n[[artifact]]\npath = \"{long}\"\nsize = {}\nsha256 = \"{}\"\nmedia_type = \"image/png\"\nstorage = \"inline\"\n",
        html.len(),
        sha256_hex(html.as_bytes())
    ));
    // And one whose path climbs out of the run's directory.
    toml.push_str(&format!(
        "\n[[artifact]]\npath = \"../../../../escape.html\"\nsize = {}\nsha256 = \"{}\"\nmedia_type = \"text/html\"\nstorage = \"inline\"\n",
        html.len(),
        sha256_hex(html.as_bytes())
    ));
    let blob = |bytes: &[u8]| git_stdin(&repo, &["hash-object", "-w", "--stdin"], bytes);
    let mut artifacts = repo.git(&["ls-tree", &format!("{run_ref}:artifacts")]);
    artifacts.push_str(&format!("100644 blob {}\t{long}\n", blob(html.as_bytes())));
    let artifacts_tree = git_stdin(&repo, &["mktree"], artifacts.as_bytes());
    let mut top: String = repo
        .git(&["ls-tree", run_ref])
        .lines()
        .filter(|l| !l.ends_with("\tartifacts") && !l.ends_with("\tartifacts.toml"))
        .map(|l| format!("{l}\n"))
        .collect();
    top.push_str(&format!("040000 tree {artifacts_tree}\tartifacts\n"));
    top.push_str(&format!("100644 blob {}\tartifacts.toml\n", blob(toml.as_bytes())));
    let tree = git_stdin(&repo, &["mktree"], top.as_bytes());
    let parent = repo.git(&["rev-parse", &format!("{run_ref}^")]);
    let message = repo.git(&["log", "-1", "--format=%B", run_ref]);
    let commit = repo.git(&["commit-tree", &tree, "-p", parent.trim(), "-m", message.trim()]);
    repo.git(&["update-ref", run_ref, commit.trim()]);
    repo
}

/// The head every page of ours starts with, up to the title: a file of the
/// site that does not start so came from somewhere else.
fn page_head() -> String {
    let base = include_str!("../../src/report/templates/base.html");
    base[..base.find("<title>").unwrap()].to_owned()
}

/// The file names a site may hold for files of runs: raster images (by their
/// content) and text.
fn inert(path: &Path, bytes: &[u8]) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some("png") => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        Some("jpg") => bytes.starts_with(b"\xff\xd8\xff"),
        Some("gif") => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
        Some("webp") => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        Some("bmp") => bytes.starts_with(b"BM"),
        Some("txt") => true,
        _ => false,
    }
}

/// See: issue 11 (2). No file of a run becomes an active document of the
/// site: every HTML file is a page of ours, the only script and style are the
/// site's own, and a run's files are written as raster images (checked by
/// content, whatever artifacts.toml says) or text. Every inline artifact stays
/// reachable as a download with its content, and only the real PNG is shown
/// as an image.
#[test]
fn no_file_of_a_run_becomes_an_active_document_of_the_site() {
    let repo = hostile_repo();
    let out = repo.exp(&["report", "-o", "site"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let site = repo.root.join("site");
    let head = page_head();
    let ours = ["assets/site.css", "assets/site.js", ".git-exp-report.json"];
    for file in files(&site) {
        let rel = file.strip_prefix(&site).unwrap().to_str().unwrap().to_owned();
        let bytes = std::fs::read(&file).unwrap();
        if ours.contains(&rel.as_str()) {
            continue;
        }
        if rel.ends_with(".html") {
            assert!(bytes.starts_with(head.as_bytes()), "{rel} is not a page of the site");
            continue;
        }
        assert!(
            rel.starts_with("runs/hostile/artifacts/") || rel.starts_with("runs/base/artifacts/"),
            "{rel}: a file of a run outside its artifacts directory"
        );
        assert!(inert(&file, &bytes), "{rel}: a file of a run with an active or wrong extension");
    }
    assert!(
        files(&repo.root)
            .iter()
            .chain(&files(repo.tmp.path()))
            .all(|f| !f.ends_with("escape.html")),
        "an artifact path climbed out of the site"
    );
    let page_path = site.join("runs/hostile/index.html");
    let page = unescape(&std::fs::read_to_string(&page_path).unwrap());
    let images: Vec<&str> =
        page.split("<img src=\"").skip(1).map(|s| &s[..s.find('"').unwrap()]).collect();
    assert_eq!(images.len(), 1, "only the real PNG is shown: {images:?}");
    let real = std::fs::read(site.join("runs/hostile").join(images[0])).unwrap();
    assert_eq!(real, real_png());
    // Each inline artifact is a link to its exact bytes, downloaded under its own name.
    let toml = repo.show_file("hostile", "artifacts.toml");
    let paths: Vec<String> = toml
        .lines()
        .filter_map(|l| l.strip_prefix("path = \""))
        .map(|p| p.trim_end_matches('"').to_owned())
        .collect();
    assert_eq!(paths.len(), 12, "{toml}");
    for path in paths.iter().filter(|p| !p.starts_with("..")) {
        let row = page
            .split("<tr>")
            .find(|row| row.contains(&format!(">{path}</a>")))
            .unwrap_or_else(|| panic!("{path} is not linked"));
        let href = row.split("href=\"").nth(1).map(|s| &s[..s.find('"').unwrap()]).unwrap();
        let served = std::fs::read(site.join("runs/hostile").join(href)).unwrap();
        let blob = repo.git(&["rev-parse", &format!("refs/experiments/hostile:artifacts/{path}")]);
        let original = git_bytes(&repo, &["cat-file", "blob", blob.trim()], b"");
        assert!(served == original, "{path}: {href} is not its content");
        if !path.ends_with("real.png") {
            let name = path.rsplit('/').next().unwrap();
            assert!(row.contains(&format!("download=\"{name}\"")), "{path}: not a download: {row}");
        }
    }
}

/// See: issue 11 (2). A directory built by an earlier git-exp (manifest format
/// 1, kept by a CI cache) holds the runs' files under their own names; the
/// next build removes them and renders every page again.
#[test]
fn a_site_of_an_earlier_format_loses_the_files_of_runs_under_their_own_names() {
    let repo = hostile_repo();
    repo.exp_ok(&["report", "-o", "site"]);
    let site = repo.root.join("site");
    let manifest = site.join(".git-exp-report.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("\"format\": 2"), "{text}");
    std::fs::write(&manifest, text.replace("\"format\": 2", "\"format\": 1")).unwrap();
    let old = ["runs/hostile/artifacts/page.html", "runs/hostile/artifacts/sub/index.html"];
    for rel in old {
        std::fs::create_dir_all(site.join(rel).parent().unwrap()).unwrap();
        std::fs::write(site.join(rel), "<script>alert(1)</script>").unwrap();
    }
    let out = repo.exp(&["report", "-o", "site"]);
    assert!(stderr(&out).contains("2 page(s) rendered, 0 unchanged"), "{}", stderr(&out));
    for rel in old {
        assert!(!site.join(rel).exists(), "{rel} is still in the site");
    }
    let page = std::fs::read_to_string(site.join("runs/hostile/index.html")).unwrap();
    for link in links(&page).iter().filter(|l| l.starts_with("artifacts/")) {
        assert!(site.join("runs/hostile").join(link).is_file(), "{link} was not written again");
    }
    assert!(std::fs::read_to_string(&manifest).unwrap().contains("\"format\": 2"));
}

// See: issue 11, item 12 (a report written inside the worktree was snapshotted
// into later runs' code).
#[test]
fn a_report_site_inside_the_worktree_stays_out_of_later_runs_code() {
    let repo = TestRepo::new();
    run(&repo, "first", &[], "true");
    repo.exp_ok(&["report", "-o", "site"]);
    repo.exp_ok(&["report", "-o", "out/nested"]);
    assert!(repo.root.join("site/.git-exp-report.json").is_file());
    // Untracked files that are not a report go in as before, also ones named like a site's.
    repo.write("notes.txt", "kept\n");
    repo.write("docs/index.html", "<p>mine</p>\n");
    run(&repo, "second", &[], "true");
    let files = repo.git(&["ls-tree", "-r", "--name-only", "refs/experiments/second:code"]);
    let files: Vec<&str> = files.lines().collect();
    assert!(files.contains(&"notes.txt") && files.contains(&"docs/index.html"), "{files:?}");
    assert!(!files.iter().any(|f| f.starts_with("site/") || f.starts_with("out/")), "{files:?}");
    let show = repo.exp_ok(&["show", "second"]);
    assert!(show.contains("left out of the code tree"), "{show}");
    for dir in ["site/", "out/nested/"] {
        let line = show.lines().find(|l| l.trim_start().starts_with(dir)).unwrap_or_default();
        assert!(line.contains("a git-exp report site ("), "{dir}: {show}");
    }
    // A site committed to the branch keeps its committed version; a rebuild stays out.
    repo.git(&["add", "site"]);
    repo.git(&["commit", "-q", "-m", "publish"]);
    let committed = repo.git(&["rev-parse", "HEAD:site/index.html"]);
    run(&repo, "third", &["x=1"], "true");
    repo.exp_ok(&["report", "-o", "site"]);
    run(&repo, "fourth", &[], "true");
    let code = repo.git(&["rev-parse", "refs/experiments/fourth:code/site/index.html"]);
    assert_eq!(code, committed);
    assert_ne!(
        std::fs::read(repo.root.join("site/index.html")).unwrap(),
        repo.git(&["cat-file", "blob", committed.trim()]).into_bytes()
    );
}
