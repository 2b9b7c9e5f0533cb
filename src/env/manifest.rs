//! The environment manifest, `env.toml`: OS, machine, GPUs, toolchains, Python
//! packages and result-shaping environment variables of a run, captured once
//! when the run starts.
//!
//! This module owns the manifest's shape and the probes that fill it. It reads
//! `/etc/os-release` and `/proc`, and runs version probes of the tools it finds
//! on the `PATH` it is given, caching their answers in `tools.toml` so that a
//! run of a non-Python command spawns nothing once the cache is warm. The
//! environment variables come from the caller; only an allowlist of them is
//! recorded, and their values pass through the [`Redactor`]. Capture never
//! fails: a probe that fails leaves its field empty. Nothing here prints.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::redact::Redactor;

/// How long a probe may run before it is killed and its field left empty.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// The probe cache inside the cache directory.
const CACHE_FILE: &str = "tools.toml";
/// Version of the cache file; a cache with another version is ignored.
const CACHE_FORMAT: u32 = 1;
/// More probe output than this is not read.
const MAX_PROBE_OUTPUT: u64 = 16 << 20;

/// Environment variables recorded in the manifest: they shape results or say
/// where a run ran. Nothing else is ever captured.
const VARIABLES: &[&str] = &[
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "CUDA_LAUNCH_BLOCKING",
    "CUBLAS_WORKSPACE_CONFIG",
    "HIP_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "RAYON_NUM_THREADS",
    "KMP_AFFINITY",
    "PYTHONHASHSEED",
    "TF_DETERMINISTIC_OPS",
    "TF_CUDNN_DETERMINISTIC",
    "TF_CPP_MIN_LOG_LEVEL",
    "TF_ENABLE_ONEDNN_OPTS",
    "WORLD_SIZE",
    "RANK",
    "LOCAL_RANK",
    "LOCAL_WORLD_SIZE",
    "NODE_RANK",
    "MASTER_ADDR",
    "MASTER_PORT",
    "PYTORCH_CUDA_ALLOC_CONF",
    "PYTORCH_ENABLE_MPS_FALLBACK",
    "XLA_FLAGS",
    "XLA_PYTHON_CLIENT_PREALLOCATE",
    "XLA_PYTHON_CLIENT_MEM_FRACTION",
    "JAX_PLATFORMS",
    "JAX_ENABLE_X64",
    "JAX_DEFAULT_MATMUL_PRECISION",
    "TOKENIZERS_PARALLELISM",
    "HF_HUB_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "VIRTUAL_ENV",
    "CONDA_DEFAULT_ENV",
    "SLURM_JOB_ID",
    "SLURM_ARRAY_TASK_ID",
    "LANG",
    "LC_ALL",
    "TZ",
];

/// Prefixes of further recorded variables.
const VARIABLE_PREFIXES: &[&str] = &["NCCL_"];

/// Commands that manage a Python environment: the Python they use is the
/// project's, not the one their own shebang names.
const PYTHON_ENV_MANAGERS: &[&str] =
    &["uv", "poetry", "pipenv", "conda", "mamba", "micromamba", "pixi", "pdm", "hatch", "rye"];

/// Variables, override files and state files that select a rustup toolchain.
const RUSTUP_SELECTION: &[&str] = &["RUSTUP_TOOLCHAIN"];
const RUSTUP_FILES: &[&str] = &["rust-toolchain.toml", "rust-toolchain"];
/// The same for pyenv and asdf shims.
const SHIM_SELECTION: &[&str] = &["PYENV_VERSION", "ASDF_PYTHON_VERSION"];
const SHIM_FILES: &[&str] = &[".python-version", ".tool-versions"];
/// Files and directories under a version manager's home whose change may
/// change the selected version.
const MANAGER_STATE: &[&str] = &["settings.toml", "toolchains", "version", "versions", "installs"];

/// Python launchers that may not carry a Python shebang.
const PYTHON_LAUNCHERS: &[&str] =
    &["pytest", "accelerate", "torchrun", "deepspeed", "ipython", "jupyter", "papermill"];

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

/// What [`capture`] needs from its caller: everything read from the process
/// environment is passed in.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// The process environment the command will run with.
    pub vars: &'a [(String, String)],
    /// The command's argv, already redacted.
    pub command: &'a [String],
    /// The working directory relative to the repository root, `.` for the root.
    pub workdir_rel: String,
    /// Where probe results may be cached, e.g. `.git/exp/cache`; created if missing.
    pub cache_dir: Option<&'a Path>,
    /// A `git describe`-like name of the code commit.
    pub code_describe: Option<String>,
}

/// The environment manifest of a run, stored as `env.toml`.
///
/// Every field has a default and empty fields are not written, so manifests
/// written by older or newer versions read back.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Manifest {
    /// The user who started the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The working directory relative to the repository root.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub workdir: String,
    /// The operating system.
    #[serde(skip_serializing_if = "is_default")]
    pub os: Os,
    /// The machine.
    #[serde(skip_serializing_if = "is_default")]
    pub machine: Machine,
    /// The code commit.
    #[serde(skip_serializing_if = "is_default")]
    pub git: Git,
    /// Versions of toolchains found on `PATH`.
    #[serde(skip_serializing_if = "is_default")]
    pub tools: Tools,
    /// The Python the command ran with, when it is a Python command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<Python>,
    /// Allowlisted environment variables, values redacted.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
    /// NVIDIA GPUs, as `nvidia-smi` lists them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<Gpu>,
}

/// The operating system of a run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Os {
    /// The distribution (`PRETTY_NAME` of `/etc/os-release`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The kernel release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// The machine architecture, e.g. `x86_64`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub arch: String,
}

/// The machine of a run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Machine {
    /// The host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The CPU model name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    /// Logical CPUs available to the run (affinity and cgroup quota applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_cores: Option<u32>,
    /// Physical cores of the machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_physical_cores: Option<u32>,
    /// Total memory in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
}

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

/// The code the run used.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Git {
    /// A `git describe`-like name of the code commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub describe: Option<String>,
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

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Captures the environment manifest of a run; never fails.
///
/// Probes that fail leave their fields empty. Tool versions and GPUs come from
/// the cache in `opts.cache_dir` when the binaries have not changed; only a
/// Python command costs a process every time (to list its packages).
pub fn capture(opts: &Options<'_>, redactor: &Redactor) -> Manifest {
    let uts = uname();
    let mut probes = Probes {
        vars: opts.vars,
        path: var(opts.vars, "PATH"),
        cache: ProbeCache::load(opts.cache_dir),
    };
    let tools = Tools {
        python: probes.version(&["python3", "python"], python_version),
        rustc: probes.version(&["rustc"], |out| strip_word(out, "rustc")),
        nvcc: probes.version(&["nvcc"], nvcc_version),
    };
    let gpus = probes.gpus(uts.as_ref().map_or("", |u| u.nodename.as_str()));
    let python = python_for(opts.command, opts.vars).map(|exe| probes.python(&exe));
    probes.cache.save();

    let cpuinfo = read("/proc/cpuinfo").unwrap_or_default();
    let (kernel, arch, hostname) = match uts {
        Some(u) => (non_empty(u.release), non_empty(u.machine), non_empty(u.nodename)),
        None => (None, None, None),
    };
    Manifest {
        user: var(opts.vars, "USER")
            .or_else(|| var(opts.vars, "LOGNAME"))
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .or_else(user_from_passwd),
        workdir: opts.workdir_rel.clone(),
        os: Os {
            name: os_name(),
            kernel,
            arch: arch.unwrap_or_else(|| std::env::consts::ARCH.to_owned()),
        },
        machine: Machine {
            hostname,
            cpu_model: cpu_model(&cpuinfo),
            cpu_cores: std::thread::available_parallelism()
                .ok()
                .and_then(|n| u32::try_from(n.get()).ok()),
            cpu_physical_cores: physical_cores(&cpuinfo),
            memory_bytes: memory_bytes(),
        },
        git: Git { describe: opts.code_describe.clone() },
        tools,
        python,
        variables: variables(opts.vars, redactor),
        gpus,
    }
}

/// Short `(label, text)` lines for `git exp show`: os, cpu, memory, gpu,
/// python and host, each only when known.
pub fn highlights(m: &Manifest) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    let mut push = |label: &str, text: String| lines.push((label.to_owned(), text));
    let mut os: Vec<String> = m.os.name.iter().cloned().collect();
    os.extend([m.os.arch.clone()].into_iter().filter(|a| !a.is_empty()));
    os.extend(m.os.kernel.iter().map(|k| format!("kernel {k}")));
    if !os.is_empty() {
        push("os", os.join(", "));
    }
    let cores = match (m.machine.cpu_cores, m.machine.cpu_physical_cores) {
        (Some(n), Some(p)) if p != n => Some(format!("{n} cores ({p} physical)")),
        (Some(n), _) => Some(format!("{n} cores")),
        (None, p) => p.map(|p| format!("{p} physical cores")),
    };
    let cpu: Vec<String> = m.machine.cpu_model.iter().cloned().chain(cores).collect();
    if !cpu.is_empty() {
        push("cpu", cpu.join(", "));
    }
    if let Some(bytes) = m.machine.memory_bytes {
        push("memory", gib(bytes));
    }
    if !m.gpus.is_empty() {
        push("gpu", gpu_summary(&m.gpus));
    }
    let python = m.python.as_ref();
    if let Some(version) = python.and_then(|p| p.version.as_ref()).or(m.tools.python.as_ref()) {
        let count = python.map_or(0, |p| p.packages.len());
        let text = if count > 0 { format!("{version}, {count} packages") } else { version.clone() };
        push("python", text);
    }
    let host = match (&m.user, &m.machine.hostname) {
        (Some(user), Some(host)) => Some(format!("{user}@{host}")),
        (user, host) => host.clone().or_else(|| user.clone()),
    };
    if let Some(host) = host {
        push("host", host);
    }
    lines
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// `2x NVIDIA A100 (80.0 GiB), driver 550.54`; different models are listed in turn.
fn gpu_summary(gpus: &[Gpu]) -> String {
    let mut groups: Vec<(&Gpu, usize)> = Vec::new();
    for gpu in gpus {
        match groups
            .iter_mut()
            .find(|(g, _)| g.name == gpu.name && g.memory_bytes == gpu.memory_bytes)
        {
            Some((_, n)) => *n += 1,
            None => groups.push((gpu, 1)),
        }
    }
    let mut parts: Vec<String> = groups
        .iter()
        .map(|(gpu, n)| {
            let count = if *n > 1 { format!("{n}x ") } else { String::new() };
            let memory = gpu.memory_bytes.map(|b| format!(" ({})", gib(b))).unwrap_or_default();
            format!("{count}{}{memory}", gpu.name)
        })
        .collect();
    let drivers: BTreeSet<&str> = gpus.iter().filter_map(|g| g.driver.as_deref()).collect();
    parts.extend(drivers.iter().map(|d| format!("driver {d}")));
    parts.join(", ")
}

// ---- reading the machine -----------------------------------------------------

/// The last value of a variable in `vars`.
fn var<'a>(vars: &'a [(String, String)], name: &str) -> Option<&'a str> {
    vars.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn non_empty(s: String) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn read(path: impl AsRef<Path>) -> Option<String> {
    fs_err::read_to_string(path.as_ref()).ok()
}

struct Uname {
    release: String,
    machine: String,
    nodename: String,
}

fn uname() -> Option<Uname> {
    // SAFETY: `utsname` is plain old data, so all zeroes is a valid value.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable `utsname`; uname fills it in.
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    let field = |chars: &[libc::c_char]| {
        let bytes: Vec<u8> = chars.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Some(Uname {
        release: field(&u.release),
        machine: field(&u.machine),
        nodename: field(&u.nodename),
    })
}

fn os_name() -> Option<String> {
    let text = read("/etc/os-release").or_else(|| read("/usr/lib/os-release"))?;
    let value = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
    };
    value("PRETTY_NAME").or_else(|| value("NAME")).filter(|v| !v.is_empty())
}

/// `key : value` fields of `/proc/cpuinfo`.
fn cpuinfo_fields(cpuinfo: &str) -> impl Iterator<Item = (&str, &str)> {
    cpuinfo.lines().filter_map(|line| {
        let (key, value) = line.split_once(':')?;
        Some((key.trim(), value.trim()))
    })
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo_fields(cpuinfo)
        .find(|(key, value)| *key == "model name" && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// Distinct `(physical id, core id)` pairs; `None` where the kernel lists no cores.
fn physical_cores(cpuinfo: &str) -> Option<u32> {
    let mut cores = BTreeSet::new();
    let mut package = "";
    for (key, value) in cpuinfo_fields(cpuinfo) {
        match key {
            "physical id" => package = value,
            "core id" => {
                cores.insert((package, value));
            }
            _ => {}
        }
    }
    u32::try_from(cores.len()).ok().filter(|&n| n > 0)
}

fn memory_bytes() -> Option<u64> {
    let meminfo = read("/proc/meminfo")?;
    let line = meminfo.lines().find_map(|line| line.strip_prefix("MemTotal:"))?;
    let kib: u64 = line.trim().trim_end_matches("kB").trim().parse().ok()?;
    kib.checked_mul(1024)
}

/// The login name of the effective user, for environments without `USER`.
pub(crate) fn user_from_passwd() -> Option<String> {
    // SAFETY: geteuid cannot fail and has no preconditions.
    let uid = unsafe { libc::geteuid() };
    // SAFETY: `passwd` is plain old data, so all zeroes is a valid value.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and `buf.len()` is its real size.
    let rc = unsafe { libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success `pw_name` points to a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
    non_empty(name.to_string_lossy().into_owned())
}

/// The allowlisted variables, redacted; secret-looking names never pass.
fn variables(vars: &[(String, String)], redactor: &Redactor) -> BTreeMap<String, String> {
    vars.iter()
        .filter(|(name, _)| {
            let listed = VARIABLES.contains(&name.as_str())
                || VARIABLE_PREFIXES.iter().any(|p| name.starts_with(p));
            listed && !Redactor::is_secret_name(name)
        })
        .map(|(name, value)| (name.clone(), redactor.redact_text(value).into_owned()))
        .collect()
}

// ---- finding programs --------------------------------------------------------

fn is_executable(path: &Path) -> bool {
    fs_err::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Resolves a program name like the shell does: a name with a `/` is a path,
/// any other is looked up on `path`.
fn find_program(name: &str, path: Option<&str>) -> Option<PathBuf> {
    if name.is_empty() {
        return None;
    }
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    std::env::split_paths(path?)
        .map(|dir| if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir })
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The Python interpreter a command runs with, or `None` when it is not a
/// Python command.
fn python_for(command: &[String], vars: &[(String, String)]) -> Option<PathBuf> {
    let path = var(vars, "PATH");
    let program = command.first()?;
    let name = basename(program);
    if name.starts_with("python") {
        return find_program(program, path).or_else(|| default_python(vars));
    }
    if PYTHON_ENV_MANAGERS.contains(&name) {
        return default_python(vars);
    }
    if let Some(python) = find_program(program, path).and_then(|p| shebang_python(&p, path)) {
        return Some(python);
    }
    let script = command.get(1).is_some_and(|a| a.ends_with(".py"));
    if PYTHON_LAUNCHERS.contains(&name) || script {
        return default_python(vars);
    }
    None
}

/// The active virtual environment's Python, else `.venv`'s, else `python3` on PATH.
fn default_python(vars: &[(String, String)]) -> Option<PathBuf> {
    let venv = var(vars, "VIRTUAL_ENV").map(|v| Path::new(v).join("bin/python"));
    let local = Some(PathBuf::from(".venv/bin/python"));
    venv.into_iter().chain(local).find(|p| is_executable(p)).or_else(|| {
        let path = var(vars, "PATH");
        find_program("python3", path).or_else(|| find_program("python", path))
    })
}

/// The interpreter of a script whose `#!` line names a Python.
fn shebang_python(script: &Path, path: Option<&str>) -> Option<PathBuf> {
    let mut head = [0u8; 256];
    let mut file = fs_err::File::open(script).ok()?;
    let n = file.read(&mut head).ok()?;
    let first = head[..n].strip_prefix(b"#!")?;
    let line = first.split(|&c| c == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_whitespace();
    let interpreter = words.next()?;
    if basename(interpreter) == "env" {
        let name = words.find(|w| !w.starts_with('-') && !w.contains('='))?;
        return basename(name).starts_with("python").then(|| find_program(name, path)).flatten();
    }
    basename(interpreter).starts_with("python").then(|| PathBuf::from(interpreter))
}

// ---- probes ------------------------------------------------------------------

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

struct Probes<'a> {
    vars: &'a [(String, String)],
    path: Option<&'a str>,
    cache: ProbeCache,
}

impl Probes<'_> {
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
    fn gpus(&mut self, hostname: &str) -> Vec<Gpu> {
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
    fn python(&mut self, exe: &Path) -> Python {
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
    use std::fs::Permissions;
    use std::sync::Mutex;

    /// Tests that write scripts and run them hold this lock: a fork in another
    /// thread can briefly inherit a script's write handle and make exec fail
    /// with "text file busy".
    static SPAWN: Mutex<()> = Mutex::new(());

    fn lock() -> std::sync::MutexGuard<'static, ()> {
        SPAWN.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Writes an executable shell script that counts its runs in `<name>.count`.
    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        let count = dir.join(format!("{name}.count"));
        let text = format!("#!/bin/sh\necho x >> '{}'\n{body}\n", count.display());
        fs_err::write(&path, text).unwrap();
        fs_err::set_permissions(&path, Permissions::from_mode(0o755)).unwrap();
        path
    }

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

    fn options<'a>(
        vars: &'a [(String, String)],
        command: &'a [String],
        cache: Option<&'a Path>,
    ) -> Options<'a> {
        Options {
            vars,
            command,
            workdir_rel: "exp/a".to_owned(),
            cache_dir: cache,
            code_describe: Some("v1.2-3-gabc1234-dirty".to_owned()),
        }
    }

    #[test]
    fn variables_are_allowlisted_and_redacted() {
        let vars = vars(&[
            ("AWS_SECRET_ACCESS_KEY", "abcdefghijklmnop"),
            ("MY_VAR", "1"),
            ("HOME", "/home/alice"),
            ("OMP_NUM_THREADS", "4"),
            ("NCCL_DEBUG", "INFO"),
            ("NCCL_IB_TOKEN", "should-never-show"),
            ("CUDA_VISIBLE_DEVICES", "0,1"),
            ("MASTER_ADDR", "https://bob:hunter2@head-node"),
            ("XLA_FLAGS", "--x abcdefghijklmnop"),
        ]);
        let redactor = Redactor::from_env(&vars);
        let got = variables(&vars, &redactor);
        let expected: BTreeMap<String, String> = [
            ("CUDA_VISIBLE_DEVICES", "0,1"),
            ("MASTER_ADDR", "https://bob:[REDACTED]@head-node"),
            ("NCCL_DEBUG", "INFO"),
            ("OMP_NUM_THREADS", "4"),
            ("XLA_FLAGS", "--x [REDACTED]"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, expected);
    }

    fn full_manifest() -> Manifest {
        Manifest {
            user: Some("alice".into()),
            workdir: ".".into(),
            os: Os {
                name: Some("Ubuntu 24.04.1 LTS".into()),
                kernel: Some("6.8.0-45-generic".into()),
                arch: "x86_64".into(),
            },
            machine: Machine {
                hostname: Some("gpu-01".into()),
                cpu_model: Some("AMD EPYC 7B13".into()),
                cpu_cores: Some(16),
                cpu_physical_cores: Some(8),
                memory_bytes: Some(64 << 30),
            },
            git: Git { describe: Some("v1.0-2-gdeadbee".into()) },
            tools: Tools { python: Some("3.12.3".into()), rustc: None, nvcc: Some("12.4".into()) },
            python: Some(Python {
                version: Some("3.12.3".into()),
                executable: Some("/venv/bin/python".into()),
                packages: [("numpy", "2.0.1"), ("zope.interface", "6.0")]
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            }),
            variables: [("OMP_NUM_THREADS".to_string(), "4".to_string())].into(),
            gpus: vec![
                Gpu {
                    name: "NVIDIA A100".into(),
                    memory_bytes: Some(80 << 30),
                    driver: Some("550.54".into()),
                };
                2
            ],
        }
    }

    #[test]
    fn manifest_round_trips_through_toml() {
        let m = full_manifest();
        let text = toml::to_string(&m).unwrap();
        assert!(text.contains("[python.packages]") && text.contains("[[gpus]]"), "{text}");
        assert!(!text.contains("rustc"), "empty fields are left out: {text}");
        assert_eq!(toml::from_str::<Manifest>(&text).unwrap(), m);

        assert_eq!(toml::to_string(&Manifest::default()).unwrap().trim(), "");
        let old = "workdir = \"x\"\nfuture_field = 1\n[machine]\ncpu_cores = 2\nfuture = \"y\"\n";
        let m: Manifest = toml::from_str(old).unwrap();
        assert_eq!(m.workdir, "x");
        assert_eq!(m.machine.cpu_cores, Some(2));
        assert_eq!(m.python, None);
    }

    #[test]
    fn highlights_summarise_the_manifest() {
        let lines = highlights(&full_manifest());
        let expected = [
            ("os", "Ubuntu 24.04.1 LTS, x86_64, kernel 6.8.0-45-generic"),
            ("cpu", "AMD EPYC 7B13, 16 cores (8 physical)"),
            ("memory", "64.0 GiB"),
            ("gpu", "2x NVIDIA A100 (80.0 GiB), driver 550.54"),
            ("python", "3.12.3, 2 packages"),
            ("host", "alice@gpu-01"),
        ];
        let expected: Vec<(String, String)> =
            expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(lines, expected);
        assert!(highlights(&Manifest::default()).is_empty());
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
        let cpuinfo = "processor : 0\nmodel name : Xeon\nphysical id : 0\ncore id : 0\n\n\
                       processor : 1\nmodel name : Xeon\nphysical id : 0\ncore id : 0\n\n\
                       processor : 2\nmodel name : Xeon\nphysical id : 1\ncore id : 0\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("Xeon"));
        assert_eq!(physical_cores(cpuinfo), Some(2));
        assert_eq!(physical_cores("processor : 0\nCPU part : 0xd0c\n"), None);
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
    fn python_commands_are_recognised() {
        let _guard = lock();
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("bin");
        let venv = tmp.path().join("venv");
        fs_err::create_dir_all(&bin).unwrap();
        fs_err::create_dir_all(venv.join("bin")).unwrap();
        let python3 = script(&bin, "python3", "");
        let python311 = script(&bin, "python3.11", "");
        let venv_python = script(&venv.join("bin"), "python", "");
        let launcher = bin.join("launcher");
        fs_err::write(&launcher, format!("#!{} -u\nimport x\n", python311.display())).unwrap();
        fs_err::set_permissions(&launcher, Permissions::from_mode(0o755)).unwrap();
        fs_err::write(bin.join("torchrun"), "#!/usr/bin/env -S python3 -u\n").unwrap();
        fs_err::set_permissions(bin.join("torchrun"), Permissions::from_mode(0o755)).unwrap();
        script(&bin, "tool.sh", "");

        let path = bin.to_str().unwrap();
        let plain = vars(&[("PATH", path)]);
        let in_venv = vars(&[("PATH", path), ("VIRTUAL_ENV", venv.to_str().unwrap())]);
        let detect = |argv: &[&str], vars: &[(String, String)]| {
            let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
            python_for(&argv, vars)
        };
        assert_eq!(detect(&["python3.11", "x.py"], &plain), Some(python311.clone()));
        assert_eq!(detect(&["torchrun", "--nproc", "2", "t.py"], &plain), Some(python3.clone()));
        assert_eq!(detect(&[launcher.to_str().unwrap()], &plain), Some(python311));
        assert_eq!(detect(&["tool.sh", "train.py"], &plain), Some(python3.clone()));
        assert_eq!(detect(&["uv", "run", "train"], &in_venv), Some(venv_python.clone()));
        assert_eq!(detect(&["pytest"], &in_venv), Some(venv_python));
        assert_eq!(detect(&["tool.sh"], &plain), None);
        assert_eq!(detect(&["true"], &plain), None);
        assert_eq!(detect(&["cargo", "run"], &plain), None);
        assert_eq!(detect(&[], &plain), None);
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

    #[test]
    fn capture_reads_this_machine_without_spawning() {
        let opts = options(&[], &[], None);
        let started = Instant::now();
        let m = capture(&opts, &Redactor::default());
        let elapsed = started.elapsed();
        assert!(!m.os.arch.is_empty());
        assert!(m.machine.cpu_cores.is_some_and(|n| n > 0));
        if cfg!(target_os = "linux") {
            assert!(m.os.kernel.is_some() && m.machine.hostname.is_some());
            assert!(m.machine.memory_bytes.is_some_and(|b| b > 0));
        }
        assert_eq!((m.tools, m.gpus, m.python), (Tools::default(), vec![], None));
        assert!(m.variables.is_empty());
        assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    }
}
