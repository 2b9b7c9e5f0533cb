//! The HTML pages in a real browser. Headless Chromium loads each page from
//! disk twice: once for a screenshot, once for the DOM after its scripts ran.
//! Each page must have rendered (a valid PNG, not blank, chart lines drawn in
//! colour), logged nothing to the console (no script error, no
//! Content-Security-Policy violation: a static page has no reason to log), hold
//! the expected charts, and link only to files that exist.
//!
//! Without Chromium (a developer machine) the tests skip, with the reason on the
//! console and in the summary line (`common::skip`), unless `CI` is set:
//! `.ci/run` installs Chromium, so there a missing browser fails.
//! `GIT_EXP_TEST_CHROMIUM` picks the binary (default: `chromium` on PATH). The
//! screenshots are kept in `target/browser-screenshots/<page>.png`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{skip_unless_ci, TestRepo};

/// Chromium, or `None` (the skip reported) when it is not installed and the
/// test may skip.
fn chromium(test: &str) -> Option<PathBuf> {
    let found = match std::env::var_os("GIT_EXP_TEST_CHROMIUM") {
        Some(bin) => Some(PathBuf::from(bin)).filter(|p| p.is_file()),
        None => std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path).map(|d| d.join("chromium")).find(|p| p.is_file())
        }),
    };
    if found.is_none() {
        let reason =
            "Chromium not found (install Debian's `chromium` or set GIT_EXP_TEST_CHROMIUM)";
        skip_unless_ci(&format!("browser::{test}"), reason);
    }
    found
}

/// Runs headless Chromium with `args` then `url`, output to files (its log is
/// long), under a deadline. Returns (stdout, stderr).
fn run_chromium(
    bin: &Path,
    work: &Path,
    tag: &str,
    args: &[OsString],
    url: &str,
) -> (String, String) {
    let profile = work.join(format!("profile-{tag}"));
    let home = work.join(format!("home-{tag}"));
    std::fs::create_dir_all(&home).unwrap();
    let out_path = work.join(format!("{tag}.stdout"));
    let err_path = work.join(format!("{tag}.stderr"));
    let mut user_data_dir = OsString::from("--user-data-dir=");
    user_data_dir.push(&profile);
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,2000",
            "--enable-logging=stderr",
            "--v=1",
        ])
        .arg(user_data_dir)
        .args(args)
        .arg(url)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("Chromium starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Chromium {args:?} {url} did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = String::from_utf8_lossy(&std::fs::read(&out_path).unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&std::fs::read(&err_path).unwrap()).into_owned();
    assert!(status.success(), "Chromium {args:?} {url} failed ({status}):\n{stderr}");
    (stdout, stderr)
}

/// A page as Chromium rendered it.
struct Rendered {
    /// Name of the screenshot (and in messages).
    name: String,
    width: u32,
    height: u32,
    /// Pixels that are not (near) white.
    ink: usize,
    /// Saturated pixels: chart lines, which text and table shading are not.
    colour: usize,
    /// Console messages and CSP refusals from either load.
    console: Vec<String>,
    /// The DOM after scripts ran (`--dump-dom`).
    dom: String,
}

/// Loads `page` in Chromium twice (screenshot; DOM dump) and keeps the
/// screenshot as `target/browser-screenshots/<name>.png`.
fn render(bin: &Path, page: &Path, name: &str) -> Rendered {
    let page = page.canonicalize().expect("page exists");
    let url = format!("file://{}", page.display());
    let work = tempfile::tempdir().unwrap();
    let shot = work.path().join("shot.png");
    let mut arg = OsString::from("--screenshot=");
    arg.push(&shot);
    let (_, log1) = run_chromium(bin, work.path(), "shot", &[arg], &url);
    let (dom, log2) = run_chromium(bin, work.path(), "dom", &["--dump-dom".into()], &url);

    let bytes = std::fs::read(&shot).unwrap_or_else(|e| panic!("{name}: no screenshot: {e}"));
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../browser-screenshots");
    std::fs::create_dir_all(&kept).unwrap();
    std::fs::write(kept.join(format!("{name}.png")), &bytes).unwrap();

    let (width, height, rgb) = decode_png(&bytes, name);
    let ink = rgb.iter().filter(|p| p.iter().any(|&c| c < 240)).count();
    let colour =
        rgb.iter().filter(|p| p.iter().max().unwrap() - p.iter().min().unwrap() >= 80).count();
    let console =
        log1.lines().chain(log2.lines()).filter(|l| is_complaint(l)).map(str::to_owned).collect();
    Rendered { name: name.to_owned(), width, height, ink, colour, console, dom }
}

/// A line of Chromium's log that reports a problem with the page: anything the
/// page's console got (script errors, CSP violations, logging) or a refusal.
fn is_complaint(line: &str) -> bool {
    line.contains(":CONSOLE")
        || line.contains("Refused to")
        || line.contains("Content Security Policy")
        || line.contains("Uncaught")
}

/// Decodes a PNG (it must be one) to RGB pixels over white.
fn decode_png(bytes: &[u8], name: &str) -> (u32, u32, Vec<[u8; 3]>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap_or_else(|e| panic!("{name}: not a PNG: {e}"));
    let mut buf = vec![0; reader.output_buffer_size().expect("PNG size fits")];
    let info = reader.next_frame(&mut buf).unwrap_or_else(|e| panic!("{name}: bad PNG: {e}"));
    let samples = info.color_type.samples();
    let mut pixels = Vec::with_capacity((info.width * info.height) as usize);
    for row in buf.chunks(info.line_size).take(info.height as usize) {
        for px in row[..info.width as usize * samples].chunks(samples) {
            let (rgb, alpha) = match *px {
                [g] => ([g; 3], 255),
                [g, a] => ([g; 3], a),
                [r, g, b] => ([r, g, b], 255),
                [r, g, b, a] => ([r, g, b], a),
                _ => unreachable!("8-bit PNG samples"),
            };
            let over_white = |c: u8| {
                ((u16::from(c) * u16::from(alpha) + 255 * (255 - u16::from(alpha))) / 255) as u8
            };
            pixels.push(rgb.map(over_white));
        }
    }
    (info.width, info.height, pixels)
}

/// What a page must show.
struct Expect {
    /// `<svg` elements (charts) in the DOM, exactly.
    svg: usize,
    /// `<polyline` elements (curves), exactly.
    polyline: usize,
    /// Text the DOM must contain (run names, headings).
    text: &'static [&'static str],
    /// Saturated pixels in the screenshot, at least: a chart's curve of a few
    /// hundred pixels gives some 800 (text and table shading give none).
    colour: usize,
}

/// Asserts everything the module docs promise about one rendered page.
fn check(r: &Rendered, page: &Path, expect: &Expect) {
    let name = &r.name;
    assert_eq!((r.width, r.height), (1280, 2000), "{name}: screenshot size");
    assert!(
        r.console.is_empty(),
        "{name}: the browser console complained:\n{}",
        r.console.join("\n")
    );
    assert!(r.dom.contains("</html>"), "{name}: no DOM dumped:\n{}", r.dom);
    assert_eq!(r.dom.matches("<svg").count(), expect.svg, "{name}: <svg> elements in the DOM");
    assert_eq!(
        r.dom.matches("<polyline").count(),
        expect.polyline,
        "{name}: <polyline> elements in the DOM"
    );
    for text in expect.text {
        assert!(r.dom.contains(text), "{name}: {text:?} not in the DOM");
    }
    // Not blank: a page with a heading and a line or two of text inks a few
    // thousand pixels; tables and charts, tens of thousands.
    assert!(r.ink >= 20_000, "{name}: nearly blank: {} non-white pixels", r.ink);
    assert!(
        r.colour >= expect.colour,
        "{name}: {} coloured pixels, want {} for the curves",
        r.colour,
        expect.colour
    );
    for target in local_links(&r.dom) {
        let path = page.parent().unwrap().join(&target);
        assert!(path.exists(), "{name}: links to {target}, which does not exist");
    }
}

/// The local files a DOM refers to (`src` and `href` values that are neither
/// fragments nor absolute URLs), without query or fragment.
fn local_links(dom: &str) -> Vec<String> {
    let mut links = Vec::new();
    for attr in [" src=\"", " href=\""] {
        for (at, _) in dom.match_indices(attr) {
            let rest = &dom[at + attr.len()..];
            let value = &rest[..rest.find('"').unwrap_or(rest.len())];
            let value = value.split(['#', '?']).next().unwrap().replace("&amp;", "&");
            if value.is_empty() || value.contains(':') {
                continue;
            }
            links.push(percent_decode(&value));
        }
    }
    links
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A run logging `loss` and `acc` at every step, so each metric is a curve.
fn run(repo: &TestRepo, name: &str, lr: &str, steps: &[(f64, f64)]) {
    let mut lines = String::new();
    for (loss, acc) in steps {
        lines.push_str(&format!("{{\"loss\": {loss}, \"acc\": {acc}}}\\n"));
    }
    let script = format!("printf '{lines}' >> \"$GIT_EXP_EVENTS\"");
    let param = format!("lr={lr}");
    repo.exp_ok(&["run", "-q", "-n", name, "-p", &param, "--", "sh", "-c", &script]);
}

/// Three runs of five steps each.
fn three_runs() -> TestRepo {
    let repo = TestRepo::new();
    let curve = |l0: f64, a0: f64| -> Vec<(f64, f64)> {
        (0..5).map(|i| (l0 / f64::from(i + 1), a0 + 0.08 * f64::from(i))).collect()
    };
    run(&repo, "baseline", "0.1", &curve(1.0, 0.5));
    run(&repo, "warmup", "0.05", &curve(0.9, 0.55));
    run(&repo, "big-batch", "0.2", &curve(1.2, 0.45));
    repo
}

const RUNS: [&str; 3] = ["baseline", "warmup", "big-batch"];

#[test]
fn compare_html_renders_in_chromium() {
    let Some(bin) = chromium("compare_html_renders_in_chromium") else { return };
    let repo = three_runs();
    let html = repo.exp_ok(&["compare", "baseline", "warmup", "big-batch", "--format", "html"]);
    let page = repo.tmp.path().join("compare.html");
    std::fs::write(&page, html).unwrap();
    let r = render(&bin, &page, "compare-format-html");
    // A chart per metric (acc, loss), a curve per run in each.
    check(&r, &page, &Expect { svg: 2, polyline: 6, text: &RUNS, colour: 6 * 300 });
}

/// `git exp report -o DIR`: the index, a run's page and the comparison page.
#[test]
fn report_site_renders_in_chromium() {
    let Some(bin) = chromium("report_site_renders_in_chromium") else { return };
    let repo = three_runs();
    let site = repo.tmp.path().join("site");
    let site_arg = site.to_str().unwrap();
    repo.exp_ok(&["report", "-o", site_arg, "baseline", "warmup", "big-batch"]);
    for asset in ["assets/site.css", "assets/site.js"] {
        assert!(site.join(asset).is_file(), "{asset} written");
    }
    // The index: the runs table (every run, its filter shown by site.js) and
    // the overview charts: each metric's final value per run, as dots, and acc
    // against the one param that varies.
    let index = site.join("index.html");
    let r = render(&bin, &index, "report-index");
    let filter = r.dom.split("<input").find(|t| t.contains("id=\"run-filter\"")).unwrap_or("");
    let filter = &filter[..filter.find('>').unwrap_or(filter.len())];
    assert!(!filter.is_empty() && !filter.contains(" hidden"), "site.js did not show {filter:?}");
    let text = &["baseline", "warmup", "big-batch", "aria-label=\"acc by lr\""];
    check(&r, &index, &Expect { svg: 3, polyline: 0, text, colour: 300 });
    // A run's page: a chart per metric by step and by time, one curve each.
    let run_page = site.join("runs/warmup/index.html");
    let r = render(&bin, &run_page, "report-run");
    let text = &["warmup", "aria-label=\"acc\"", "aria-label=\"loss\""];
    check(&r, &run_page, &Expect { svg: 4, polyline: 4, text, colour: 4 * 300 });
    // The comparison: every run's curve overlaid, a chart per metric.
    let compare = site.join("compare.html");
    let r = render(&bin, &compare, "report-compare");
    check(&r, &compare, &Expect { svg: 2, polyline: 6, text: &RUNS, colour: 6 * 300 });
}

/// The checks themselves, on a hand-made site under the report's CSP: a clean
/// page with an external stylesheet and script passes; inline script and style,
/// a script error and a broken link are each caught.
#[test]
fn the_browser_checks_catch_csp_violations_and_script_errors() {
    let Some(bin) = chromium("the_browser_checks_catch_csp_violations_and_script_errors") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path();
    std::fs::create_dir_all(site.join("assets")).unwrap();
    std::fs::write(
        site.join("assets/site.css"),
        "polyline{fill:none;stroke-width:3}th{text-align:left}",
    )
    .unwrap();
    std::fs::write(
        site.join("assets/site.js"),
        "document.querySelector('table').setAttribute('data-sortable', 'yes');\n",
    )
    .unwrap();
    let head = "<!doctype html><html><head><meta charset=\"utf-8\">\
        <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'\">\
        <link rel=\"stylesheet\" href=\"assets/site.css\"><title>t</title></head><body>";
    let mut rows = String::new();
    for i in 0..40 {
        rows.push_str(&format!(
            "<tr><td>run-{i}</td><td>0.{i:02}</td><td>lr=0.1 opt=adam</td></tr>"
        ));
    }
    let chart = "<svg width=\"900\" height=\"300\"><polyline stroke=\"#1f77b4\" points=\"0,290 300,100 600,60 900,40\"/></svg>";
    let body = format!("<h1>Runs</h1><table><tr><th>run</th><th>loss</th><th>params</th></tr>{rows}</table>{chart}");
    let clean = site.join("clean.html");
    std::fs::write(
        &clean,
        format!("{head}{body}<script src=\"assets/site.js\"></script></body></html>"),
    )
    .unwrap();
    let r = render(&bin, &clean, "selftest-clean");
    check(
        &r,
        &clean,
        &Expect { svg: 1, polyline: 1, text: &["data-sortable=\"yes\""], colour: 300 },
    );

    let bad = site.join("bad.html");
    std::fs::write(
        &bad,
        format!(
            "{head}<style>h1{{color:red}}</style>{body}<script>document.title = 'x';</script>\
             <script src=\"assets/broken.js\"></script><a href=\"runs/missing/index.html\">gone</a></body></html>"
        ),
    )
    .unwrap();
    std::fs::write(site.join("assets/broken.js"), "undefinedFunction();\n").unwrap();
    let r = render(&bin, &bad, "selftest-bad");
    let console = r.console.join("\n");
    assert!(
        console.contains("inline style") || console.contains("style-src"),
        "inline style:\n{console}"
    );
    assert!(
        console.contains("inline script") || console.contains("script-src"),
        "inline script:\n{console}"
    );
    assert!(console.contains("Uncaught ReferenceError"), "script error:\n{console}");
    // The link check sees the broken link (and the assets, which exist).
    let links = local_links(&r.dom);
    assert!(links.contains(&"runs/missing/index.html".to_owned()), "{links:?}");
    assert!(links.contains(&"assets/site.css".to_owned()), "{links:?}");
    assert!(!site.join("runs/missing/index.html").exists());
}

/// Every file under `dir`, recursively.
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// See: issue 11 (2). A run whose artifacts are HTML, SVG, XHTML, XML and
/// JavaScript with scripts (some named `.png`, one without extension, and
/// artifacts.toml claiming each is a PNG): no script of theirs runs when any
/// file of the site is opened as a top-level document, as a visitor following
/// a link or typing its URL does. The same files opened from outside the site
/// do run their scripts, so the check can see them.
#[test]
fn no_script_of_a_run_runs_from_any_file_of_the_site() {
    let Some(bin) = chromium("no_script_of_a_run_runs_from_any_file_of_the_site") else { return };
    let repo = crate::report::hostile_repo();
    let marker = crate::report::XSS_MARKER;
    let work = tempfile::tempdir().unwrap();
    let open = |path: &Path, tag: &str| -> String {
        let url = format!("file://{}", path.canonicalize().unwrap().display());
        run_chromium(&bin, work.path(), tag, &["--dump-dom".into()], &url).0
    };
    for original in ["page.html", "plot.svg", "doc.xhtml", "feed.xml"] {
        let dom = open(&repo.tmp.path().join("hostile").join(original), "original");
        assert!(dom.contains(marker), "the check does not see {original}'s script run:\n{dom}");
    }

    let site = repo.tmp.path().join("site");
    repo.exp_ok(&["report", "-o", site.to_str().unwrap()]);
    let files = all_files(&site);
    let mut linked = 0;
    for (i, file) in files.iter().enumerate() {
        let rel = file.strip_prefix(&site).unwrap().display().to_string();
        if rel == ".git-exp-report.json" {
            continue;
        }
        let dom = open(file, &format!("file-{i}"));
        assert!(!dom.contains(marker), "{rel}: a script of the run ran:\n{dom}");
        if rel.ends_with(".html") {
            assert!(dom.contains("</html>"), "{rel}: no DOM dumped:\n{dom}");
            // Every link leads to a file of the site, which this loop opens too.
            for target in local_links(&dom) {
                let path = file.parent().unwrap().join(&target);
                let path = path
                    .canonicalize()
                    .unwrap_or_else(|_| panic!("{rel} links to {target}, which does not exist"));
                assert!(files.iter().any(|f| f.canonicalize().unwrap() == path), "{rel}: {target}");
                linked += 1;
            }
        }
    }
    assert!(linked >= 11, "the run page links every inline artifact: {linked} links");
}
