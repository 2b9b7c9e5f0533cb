//! The environment manifest, `env.toml`: OS, machine, GPUs, toolchains, Python
//! packages and result-shaping environment variables of a run, captured once
//! when the run starts.
//!
//! This module owns the manifest's shape and what fills it without spawning: it
//! reads `/etc/os-release` and `/proc`, and finds programs and a command's
//! Python on the `PATH` it is given. Running the tools it finds, and caching
//! their answers in `tools.toml` so that a run of a non-Python command spawns
//! nothing once the cache is warm, is `env::probe`'s. The environment variables
//! come from the caller; only an allowlist of them is recorded, and their values
//! pass through the [`Redactor`]. Capture never fails: a probe that fails leaves
//! its field empty. Nothing here prints.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::machine::{find_program, is_executable, non_empty, read, var};
use super::probe::Probes;
pub use super::probe::{Gpu, Python, Tools};
use super::redact::Redactor;

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

/// Python launchers that may not carry a Python shebang.
const PYTHON_LAUNCHERS: &[&str] =
    &["pytest", "accelerate", "torchrun", "deepspeed", "ipython", "jupyter", "papermill"];

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

/// The code the run used.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(default)]
pub struct Git {
    /// A `git describe`-like name of the code commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub describe: Option<String>,
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
    let mut probes = Probes::new(opts.vars, opts.cache_dir);
    let tools = probes.tools();
    let gpus = probes.gpus(uts.as_ref().map_or("", |u| u.nodename.as_str()));
    let python = python_for(opts.command, opts.vars).map(|exe| probes.python(&exe));
    probes.save();

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

/// The allowlisted variables, redacted; secret-looking names never pass. A
/// name allowed by its prefix alone must not even have a part of one (`key`,
/// `token`, `pass`, ...): `NCCL_IB_KEY` stays out.
fn variables(vars: &[(String, String)], redactor: &Redactor) -> BTreeMap<String, String> {
    vars.iter()
        .filter(|(name, _)| {
            let named = VARIABLES.contains(&name.as_str());
            let prefixed = VARIABLE_PREFIXES.iter().any(|p| name.starts_with(p));
            (named || (prefixed && !Redactor::may_be_secret_name(name)))
                && !Redactor::is_secret_name(name)
        })
        .map(|(name, value)| (name.clone(), redactor.redact_text(value).into_owned()))
        .collect()
}

// ---- finding programs --------------------------------------------------------

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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::fs::Permissions;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    /// Tests that write scripts and run them hold this lock, here and in
    /// `probe`: a fork in another thread can briefly inherit a script's write
    /// handle and make exec fail with "text file busy".
    static SPAWN: Mutex<()> = Mutex::new(());

    pub(in crate::env) fn lock() -> std::sync::MutexGuard<'static, ()> {
        SPAWN.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(in crate::env) fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Writes an executable shell script that counts its runs in `<name>.count`.
    pub(in crate::env) fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        let count = dir.join(format!("{name}.count"));
        let text = format!("#!/bin/sh\necho x >> '{}'\n{body}\n", count.display());
        fs_err::write(&path, text).unwrap();
        fs_err::set_permissions(&path, Permissions::from_mode(0o755)).unwrap();
        path
    }

    pub(in crate::env) fn options<'a>(
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
            ("NCCL_IB_KEY", "should-never-show"),
            ("NCCL_SOCKET_IFNAME", "wJalrXUtn7FEMI/K7MDENG+bPxRfiCY9zQ3Lk5Rt"),
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
            ("NCCL_SOCKET_IFNAME", "[REDACTED]"),
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
    fn cpuinfo_is_parsed() {
        let cpuinfo = "processor : 0\nmodel name : Xeon\nphysical id : 0\ncore id : 0\n\n\
                       processor : 1\nmodel name : Xeon\nphysical id : 0\ncore id : 0\n\n\
                       processor : 2\nmodel name : Xeon\nphysical id : 1\ncore id : 0\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("Xeon"));
        assert_eq!(physical_cores(cpuinfo), Some(2));
        assert_eq!(physical_cores("processor : 0\nCPU part : 0xd0c\n"), None);
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
