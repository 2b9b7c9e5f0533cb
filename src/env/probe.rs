//! Probes of the tools a run may use, for the environment manifest: the
//! `--version` probes of toolchains found on `PATH`, the `nvidia-smi` GPU
//! listing, and the version and installed packages of a Python command's
//! interpreter.
//!
//! This module owns spawning those probes (no stdin, the caller's environment,
//! a timeout, output read from a temporary file) and their cache, `tools.toml`:
//! answers keyed by the resolved binary, its size and mtime, and for version
//! managers the state that selects the version, so that a warm cache spawns
//! nothing. The Python package listing is never cached. A probe that fails or
//! times out yields nothing, so probing never fails. Nothing here prints or
//! reads the process environment: the caller passes the variables in.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::machine::{find_program, non_empty, read, var};

/// One GPU.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Gpu {
    /// The model name.
    pub name: String,
    /// Its memory in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// The driver version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
}

/// Versions of toolchains found on `PATH`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Tools {
    /// `python3` (or `python`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// `rustc`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rustc: Option<String>,
    /// `nvcc`, the CUDA compiler.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nvcc: Option<String>,
}

/// The Python interpreter a Python command ran with.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Python {
    /// Its version, e.g. `3.12.3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Its executable (`sys.executable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<String>,
    /// Installed distributions: name to version.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub packages: BTreeMap<String, String>,
}

/// How long a probe may run before it is killed and its field left empty.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// The probe cache inside the cache directory.
const CACHE_FILE: &str = "tools.toml";
/// Version of the cache file; a cache with another version is ignored.
const CACHE_FORMAT: u32 = 1;
/// More probe output than this is not read.
const MAX_PROBE_OUTPUT: u64 = 16 << 20;

/// Variables, override files and state files that select a rustup toolchain.
const RUSTUP_SELECTION: &[&str] = &["RUSTUP_TOOLCHAIN"];
const RUSTUP_FILES: &[&str] = &["rust-toolchain.toml", "rust-toolchain"];
/// The same for pyenv and asdf shims.
const SHIM_SELECTION: &[&str] = &["PYENV_VERSION", "ASDF_PYTHON_VERSION"];
const SHIM_FILES: &[&str] = &[".python-version", ".tool-versions"];
/// Files and directories under a version manager's home whose change may
/// change the selected version.
const MANAGER_STATE: &[&str] = &["settings.toml", "toolchains", "version", "versions", "installs"];

/// Prints version, executable and installed distributions as one JSON line.
/// `importlib.metadata` reads the metadata files directly; pip is far slower.
const PYTHON_PROBE: &str = r#"
import json, sys
packages = {}
try:
    from importlib import metadata
    for dist in metadata.distributions():
        try:
            name, version = dist.metadata["Name"], dist.version
            if name and version and name not in packages:
                packages[name] = str(version)
        except Exception:
            pass
except Exception:
    pass
info = {"version": sys.version.split()[0], "executable": sys.executable, "packages": packages}
sys.stdout.write("\n" + json.dumps(info) + "\n")
"#;

#[derive(Debug, thiserror::Error)]
enum ProbeError {
    #[error("could not run {program}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("{program} did not finish within {} s", PROBE_TIMEOUT.as_secs())]
    Timeout { program: String },
    #[error("{program} failed")]
    Failed { program: String },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Runs `program args` with `vars`, killing it after `timeout`; returns its
/// stdout (and stderr, with `merge_stderr`).
///
/// Output goes to an anonymous temporary file, not a pipe, so a chatty child
/// cannot block on a full pipe and a grandchild that keeps the pipe open
/// cannot hang us.
fn run_probe(
    program: &Path,
    args: &[&str],
    vars: &[(String, String)],
    timeout: Duration,
    merge_stderr: bool,
) -> Result<String, ProbeError> {
    let name = program.display().to_string();
    let mut out = tempfile::tempfile()?;
    let stderr = if merge_stderr { Stdio::from(out.try_clone()?) } else { Stdio::null() };
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(stderr)
        .spawn()
        .map_err(|source| ProbeError::Spawn { program: name.clone(), source })?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() >= timeout {
            // The child may have exited just now; either way reap it.
            let _ = child.kill();
            let _ = child.wait();
            return Err(ProbeError::Timeout { program: name });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    };
    if !status.success() {
        return Err(ProbeError::Failed { program: name });
    }
    out.rewind()?;
    let mut bytes = Vec::new();
    out.take(MAX_PROBE_OUTPUT).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `Python 3.12.3` -> `3.12.3`.
fn python_version(out: &str) -> Option<String> {
    strip_word(out, "Python")
}

/// The first non-empty line without a leading program name.
fn strip_word(out: &str, word: &str) -> Option<String> {
    let line = out.lines().map(str::trim).find(|l| !l.is_empty())?;
    non_empty(line.strip_prefix(word).unwrap_or(line).to_owned())
}

/// `Cuda compilation tools, release 12.4, V12.4.131` -> `12.4.131`.
fn nvcc_version(out: &str) -> Option<String> {
    let line = out.lines().find(|l| l.contains("release"))?;
    let version = match line.rsplit_once(", V") {
        Some((_, v)) => v,
        None => line.split("release").nth(1)?.trim_start().split(',').next()?,
    };
    non_empty(version.to_owned())
}

/// One line of `nvidia-smi --query-gpu=name,memory.total,driver_version
/// --format=csv,noheader`, e.g. `NVIDIA A100-SXM4-80GB, 81920 MiB, 550.54.15`.
fn parse_gpu(line: &str) -> Option<Gpu> {
    let mut fields = line.rsplitn(3, ',').map(str::trim);
    let driver = fields.next()?;
    let memory = fields.next()?;
    let name = fields.next()?;
    let memory_bytes = memory.strip_suffix("MiB").and_then(|m| m.trim().parse::<u64>().ok());
    Some(Gpu {
        name: non_empty(name.to_owned())?,
        memory_bytes: memory_bytes.and_then(|m| m.checked_mul(1 << 20)),
        driver: non_empty(driver.to_owned()).filter(|d| !d.starts_with('[')),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PythonProbe {
    version: Option<String>,
    executable: Option<String>,
    packages: BTreeMap<String, String>,
}

/// The probes of one capture, sharing the environment they run with and the cache.
pub(super) struct Probes<'a> {
    vars: &'a [(String, String)],
    path: Option<&'a str>,
    cache: ProbeCache,
}

impl<'a> Probes<'a> {
    /// Probes that run with `vars` and cache in `cache_dir`, when there is one.
    pub(super) fn new(vars: &'a [(String, String)], cache_dir: Option<&Path>) -> Self {
        Probes { vars, path: var(vars, "PATH"), cache: ProbeCache::load(cache_dir) }
    }

    /// Versions of the toolchains on PATH.
    pub(super) fn tools(&mut self) -> Tools {
        Tools {
            python: self.version(&["python3", "python"], python_version),
            rustc: self.version(&["rustc"], |out| strip_word(out, "rustc")),
            nvcc: self.version(&["nvcc"], nvcc_version),
        }
    }

    /// Writes the cache if a probe changed it.
    pub(super) fn save(&mut self) {
        self.cache.save();
    }

    /// The version of the first of `names` on PATH, from the cache when possible.
    fn version(&mut self, names: &[&str], parse: fn(&str) -> Option<String>) -> Option<String> {
        let program = names.iter().find_map(|name| find_program(name, self.path))?;
        let extra = self.selection_state(&program);
        self.cache
            .get_or_run(&program, &["--version"], extra, |p, args| {
                run_probe(p, args, self.vars, PROBE_TIMEOUT, true)
            })
            .as_deref()
            .and_then(parse)
    }

    /// GPUs from `nvidia-smi`, cached per host and boot.
    pub(super) fn gpus(&mut self, hostname: &str) -> Vec<Gpu> {
        let Some(program) = find_program("nvidia-smi", self.path) else {
            return Vec::new();
        };
        let boot = read("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        let extra = format!("{hostname} {}", boot.trim());
        let args = ["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"];
        let out = self.cache.get_or_run(&program, &args, extra, |p, args| {
            run_probe(p, args, self.vars, PROBE_TIMEOUT, false)
        });
        out.as_deref().unwrap_or_default().lines().filter_map(parse_gpu).collect()
    }

    /// Version and packages of a command's Python; not cached, as packages
    /// change without the interpreter changing.
    pub(super) fn python(&mut self, exe: &Path) -> Python {
        let fallback = Python { executable: Some(exe.display().to_string()), ..Python::default() };
        let Ok(out) = run_probe(exe, &["-c", PYTHON_PROBE], self.vars, PROBE_TIMEOUT, false) else {
            return fallback;
        };
        let last = out.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
        match serde_json::from_str::<PythonProbe>(last) {
            Ok(p) => Python {
                version: p.version,
                executable: p.executable.or(fallback.executable),
                packages: p.packages,
            },
            Err(_) => fallback,
        }
    }

    /// Version managers (rustup, and pyenv- or asdf-style `shims/`) answer
    /// `--version` for whichever version is selected, not for the binary the
    /// cache keys on: fold the selection into the key. It is made of the
    /// selecting variables, the override files in the current directory and its
    /// parents, and the manager's global settings and installed versions.
    fn selection_state(&self, program: &Path) -> String {
        let real = fs_err::canonicalize(program).unwrap_or_else(|_| program.to_owned());
        let shims = program.parent().filter(|dir| dir.ends_with("shims"));
        let (names, files, home) = if real.file_name().is_some_and(|n| n == "rustup") {
            let home = var(self.vars, "RUSTUP_HOME")
                .map(PathBuf::from)
                .or_else(|| var(self.vars, "HOME").map(|h| Path::new(h).join(".rustup")));
            (RUSTUP_SELECTION, RUSTUP_FILES, home)
        } else if let Some(shims) = shims {
            (SHIM_SELECTION, SHIM_FILES, shims.parent().map(Path::to_owned))
        } else {
            return String::new();
        };
        let mut state: Vec<String> = names
            .iter()
            .map(|n| format!("{n}={}", var(self.vars, n).unwrap_or_default()))
            .collect();
        let cwd = fs_err::canonicalize(".").unwrap_or_default();
        let found = cwd.ancestors().flat_map(|dir| files.iter().map(move |f| dir.join(f)));
        let home_files = home.iter().flat_map(|h| MANAGER_STATE.iter().map(move |f| h.join(f)));
        for path in found.chain(home_files) {
            if let Ok(meta) = fs_err::metadata(&path) {
                state.push(format!("{}@{}.{}", path.display(), meta.mtime(), meta.mtime_nsec()));
            }
        }
        state.join(" ")
    }
}

// ---- the probe cache ---------------------------------------------------------

/// `tools.toml`: probe outputs keyed by the resolved binary and its size and mtime.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct CacheFile {
    format: u32,
    probe: BTreeMap<String, CacheEntry>,
}

#[derive(Serialize, Deserialize, Clone, PartialEq)]
struct CacheEntry {
    path: String,
    size: u64,
    mtime_ns: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    extra: String,
    /// False when the probe failed: a broken tool is not run on every capture.
    ok: bool,
    output: String,
}

struct ProbeCache {
    file: Option<PathBuf>,
    data: CacheFile,
    dirty: bool,
}

impl ProbeCache {
    /// Reads the cache; a missing, corrupt or foreign cache starts empty.
    fn load(dir: Option<&Path>) -> Self {
        let file = dir.map(|d| d.join(CACHE_FILE));
        let data = file
            .as_ref()
            .and_then(read)
            .and_then(|text| toml::from_str::<CacheFile>(&text).ok())
            .filter(|data| data.format == CACHE_FORMAT)
            .unwrap_or_default();
        ProbeCache { file, data, dirty: false }
    }

    /// The cached output of `program args`, or runs it and caches the answer.
    /// Timeouts are not cached: the next capture tries again.
    fn get_or_run(
        &mut self,
        program: &Path,
        args: &[&str],
        extra: String,
        run: impl FnOnce(&Path, &[&str]) -> Result<String, ProbeError>,
    ) -> Option<String> {
        let real = fs_err::canonicalize(program).ok()?;
        let meta = fs_err::metadata(&real).ok()?;
        let path = real.display().to_string();
        let key = format!("{path} {}", args.join(" "));
        let mtime_ns = meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec());
        if let Some(e) = self.data.probe.get(&key) {
            if e.size == meta.len() && e.mtime_ns == mtime_ns && e.extra == extra {
                return e.ok.then(|| e.output.clone());
            }
        }
        let result = run(program, args);
        let (ok, output) = match result {
            Ok(output) => (true, output),
            Err(ProbeError::Timeout { .. }) | Err(ProbeError::Io(_)) => return None,
            Err(ProbeError::Spawn { .. }) | Err(ProbeError::Failed { .. }) => {
                (false, String::new())
            }
        };
        let answer = ok.then(|| output.clone());
        let entry = CacheEntry { path, size: meta.len(), mtime_ns, extra, ok, output };
        self.data.probe.insert(key, entry);
        self.dirty = true;
        answer
    }

    /// Writes the cache if it changed, atomically; failures are ignored (the
    /// next capture probes again). Entries of binaries that are gone are dropped.
    fn save(&mut self) {
        if !self.dirty {
            return;
        }
        let Some(file) = self.file.clone() else { return };
        self.data.format = CACHE_FORMAT;
        self.data.probe.retain(|_, e| Path::new(&e.path).exists());
        let _ = self.write(&file);
    }

    fn write(&self, file: &Path) -> Result<(), ProbeError> {
        let dir = file.parent().unwrap_or(Path::new("."));
        fs_err::create_dir_all(dir)?;
        let text = toml::to_string(&self.data).map_err(|e| io::Error::other(e.to_string()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(text.as_bytes())?;
        tmp.persist(file).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::manifest::capture;
    use crate::env::manifest::tests::{lock, options, script, vars};
    use crate::env::redact::Redactor;

    fn runs(dir: &Path, name: &str) -> usize {
        read(dir.join(format!("{name}.count"))).map_or(0, |t| t.lines().count())
    }

    const FAKE_PYTHON: &str = r#"
if [ "$1" = "--version" ]; then echo "Python 3.11.7"; exit 0; fi
if [ "$1" = "-c" ]; then
  echo "noise from sitecustomize"
  echo '{"version": "3.11.7", "executable": "/opt/py/bin/python3",'\
' "packages": {"numpy": "1.26.4", "zope.interface": "6.0"}}'
  exit 0
fi
exit 1"#;

    fn fake_tools(bin: &Path) {
        script(bin, "python3", FAKE_PYTHON);
        script(bin, "rustc", "echo 'rustc 1.95.0 (f2d3ce0bd 2026-03-21)'");
        script(
            bin,
            "nvcc",
            "echo 'nvcc: NVIDIA (R) Cuda compiler driver'\n\
             echo 'Cuda compilation tools, release 12.4, V12.4.131'",
        );
        script(
            bin,
            "nvidia-smi",
            "echo 'NVIDIA A100-SXM4-80GB, 81920 MiB, 550.54.15'\n\
             echo 'NVIDIA A100-SXM4-80GB, 81920 MiB, 550.54.15'",
        );
    }

    #[test]
    fn probe_outputs_are_parsed() {
        assert_eq!(python_version("Python 3.12.3\n").as_deref(), Some("3.12.3"));
        assert_eq!(python_version("").as_deref(), None);
        let nvcc = "nvcc: NVIDIA (R)\nCuda compilation tools, release 12.4, V12.4.131\nBuild x\n";
        assert_eq!(nvcc_version(nvcc).as_deref(), Some("12.4.131"));
        assert_eq!(nvcc_version("release 11.8").as_deref(), Some("11.8"));
        let gpu = parse_gpu("NVIDIA GeForce RTX 4090, 24564 MiB, 550.54.15").unwrap();
        assert_eq!(gpu.name, "NVIDIA GeForce RTX 4090");
        assert_eq!(gpu.memory_bytes, Some(24564 << 20));
        assert_eq!(gpu.driver.as_deref(), Some("550.54.15"));
        let odd = parse_gpu("Some, GPU, [N/A], [N/A]").unwrap();
        assert_eq!((odd.name.as_str(), odd.memory_bytes, odd.driver), ("Some, GPU", None, None));
        assert!(parse_gpu("garbage").is_none());
    }

    #[test]
    fn tool_probes_are_cached() {
        let _guard = lock();
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("bin");
        let cache = tmp.path().join("git/exp/cache");
        fs_err::create_dir_all(&bin).unwrap();
        fake_tools(&bin);
        let vars = vars(&[("PATH", bin.to_str().unwrap()), ("USER", "alice")]);
        let command = vec!["true".to_owned()];
        let opts = options(&vars, &command, Some(&cache));
        let redactor = Redactor::default();

        let first = capture(&opts, &redactor);
        assert_eq!(first.tools.python.as_deref(), Some("3.11.7"));
        assert_eq!(first.tools.rustc.as_deref(), Some("1.95.0 (f2d3ce0bd 2026-03-21)"));
        assert_eq!(first.tools.nvcc.as_deref(), Some("12.4.131"));
        assert_eq!(first.gpus.len(), 2);
        assert_eq!(first.gpus[0].memory_bytes, Some(80 << 30));
        assert_eq!(first.python, None, "`true` is not a Python command");
        assert_eq!(first.user.as_deref(), Some("alice"));
        assert_eq!(first.workdir, "exp/a");
        assert_eq!(first.git.describe.as_deref(), Some("v1.2-3-gabc1234-dirty"));
        let second = capture(&opts, &redactor);
        assert_eq!(second, first);
        for tool in ["python3", "rustc", "nvcc", "nvidia-smi"] {
            assert_eq!(runs(&bin, tool), 1, "{tool} ran again despite the cache");
        }

        // A changed binary is probed again.
        script(&bin, "rustc", "echo 'rustc 1.96.0 (0123456789 2026-05-01)'");
        let third = capture(&opts, &redactor);
        assert_eq!(third.tools.rustc.as_deref(), Some("1.96.0 (0123456789 2026-05-01)"));
        assert_eq!((runs(&bin, "rustc"), runs(&bin, "python3")), (2, 1));

        // A corrupt cache is ignored and rewritten.
        fs_err::write(cache.join(CACHE_FILE), "not [valid toml").unwrap();
        assert_eq!(capture(&opts, &redactor), third);
        assert_eq!((runs(&bin, "rustc"), runs(&bin, "python3")), (3, 2));
        let text = read(cache.join(CACHE_FILE)).unwrap();
        assert!(toml::from_str::<CacheFile>(&text).is_ok(), "{text}");
        capture(&opts, &redactor);
        assert_eq!((runs(&bin, "rustc"), runs(&bin, "python3")), (3, 2));
    }

    #[test]
    fn shim_versions_are_cached_per_selection() {
        let _guard = lock();
        let tmp = tempfile::tempdir().unwrap();
        let shims = tmp.path().join("pyenv/shims");
        fs_err::create_dir_all(&shims).unwrap();
        script(&shims, "python3", "echo \"Python $PYENV_VERSION\"");
        let capture_with = |version: &str| {
            let vars = vars(&[("PATH", shims.to_str().unwrap()), ("PYENV_VERSION", version)]);
            let m = capture(&options(&vars, &[], Some(tmp.path())), &Redactor::default());
            m.tools.python
        };
        assert_eq!(capture_with("3.11.7").as_deref(), Some("3.11.7"));
        assert_eq!(capture_with("3.11.7").as_deref(), Some("3.11.7"));
        assert_eq!(runs(&shims, "python3"), 1);
        assert_eq!(capture_with("3.12.1").as_deref(), Some("3.12.1"));
        assert_eq!(runs(&shims, "python3"), 2);
        fs_err::create_dir_all(tmp.path().join("pyenv/versions/3.12.1")).unwrap();
        assert_eq!(capture_with("3.12.1").as_deref(), Some("3.12.1"));
        assert_eq!(runs(&shims, "python3"), 3);
    }

    #[test]
    fn failing_tools_are_cached_as_absent() {
        let _guard = lock();
        let tmp = tempfile::tempdir().unwrap();
        script(tmp.path(), "rustc", "exit 3");
        let vars = vars(&[("PATH", tmp.path().to_str().unwrap())]);
        let opts = options(&vars, &[], Some(tmp.path()));
        assert_eq!(capture(&opts, &Redactor::default()).tools, Tools::default());
        assert_eq!(capture(&opts, &Redactor::default()).tools, Tools::default());
        assert_eq!(runs(tmp.path(), "rustc"), 1);
        let without_cache = options(&vars, &[], None);
        capture(&without_cache, &Redactor::default());
        assert_eq!(runs(tmp.path(), "rustc"), 2);
    }

    #[test]
    fn python_commands_list_their_packages() {
        let _guard = lock();
        let tmp = tempfile::tempdir().unwrap();
        script(tmp.path(), "python3", FAKE_PYTHON);
        let vars = vars(&[("PATH", tmp.path().to_str().unwrap())]);
        let command: Vec<String> = vec!["python3".into(), "train.py".into()];
        let opts = options(&vars, &command, Some(tmp.path()));
        let m = capture(&opts, &Redactor::default());
        let python = m.python.expect("a Python command");
        assert_eq!(python.version.as_deref(), Some("3.11.7"));
        assert_eq!(python.executable.as_deref(), Some("/opt/py/bin/python3"));
        assert_eq!(python.packages.get("zope.interface").map(String::as_str), Some("6.0"));
        assert_eq!(python.packages.len(), 2);
        capture(&opts, &Redactor::default());
        // `--version` once (cached), the package listing on every capture.
        assert_eq!(runs(tmp.path(), "python3"), 3);
    }

    #[test]
    fn slow_probes_are_killed() {
        let _guard = lock();
        let tmp = tempfile::tempdir().unwrap();
        let slow = script(tmp.path(), "slow", "exec sleep 10");
        let vars = vars(&[("PATH", "/usr/bin:/bin")]);
        let started = Instant::now();
        let result = run_probe(&slow, &[], &vars, Duration::from_millis(200), false);
        assert!(matches!(result, Err(ProbeError::Timeout { .. })), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
