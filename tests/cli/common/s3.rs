//! S3-compatible servers for the artifact store tests. A test asks for one
//! over http ([`http`]) or https with a private CA ([`https`]) and gets, in
//! this order: the endpoint named by `GIT_EXP_TEST_S3_*` (someone's own MinIO,
//! say), else moto's `moto_server` started by this test binary, once, on a
//! free loopback port (found next to the interpreter `GIT_EXP_TEST_PYTHON`
//! names, else on PATH), else a skip with the reason. Servers started here run
//! in their own process group, die with the binary (a parent-death signal,
//! for when it is killed) and are stopped when it exits (see `skip::at_exit`).
//!
//! Settings: `GIT_EXP_TEST_S3_ENDPOINT` and `GIT_EXP_TEST_S3_BUCKET` (http);
//! `GIT_EXP_TEST_S3_TLS_ENDPOINT`, `GIT_EXP_TEST_S3_CA` and the same bucket
//! (https); `GIT_EXP_TEST_S3_ACCESS_KEY_ID`, `GIT_EXP_TEST_S3_SECRET_ACCESS_KEY`
//! and `GIT_EXP_TEST_S3_REGION` for both (moto takes anything).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::skip::{at_exit, skip_unless_ci, write_stderr};

/// Where a test finds an S3-compatible server, and how it signs in.
pub struct S3 {
    /// `http://` or `https://` host and port.
    pub endpoint: String,
    /// An existing bucket the tests may write under (each under its own prefix).
    pub bucket: String,
    /// The CA that signed the server's certificate (https).
    pub ca: Option<PathBuf>,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_REGION` for it.
    pub credentials: [(String, String); 3],
}

/// The bucket created in the servers started here.
const BUCKET: &str = "git-exp-test";

/// The hint when no server is at hand.
const NO_MOTO: &str =
    "moto_server not installed: pip install 'moto[server]' (or set GIT_EXP_TEST_S3_ENDPOINT)";

/// A server over http for `test`, or `None` after reporting the skip.
pub fn http(test: &str) -> Option<&'static S3> {
    static SERVER: OnceLock<Result<S3, String>> = OnceLock::new();
    ready(test, SERVER.get_or_init(|| server(false)))
}

/// A server over https whose certificate a throwaway CA signed, for `test`,
/// or `None` after reporting the skip.
pub fn https(test: &str) -> Option<&'static S3> {
    static SERVER: OnceLock<Result<S3, String>> = OnceLock::new();
    ready(test, SERVER.get_or_init(|| server(true)))
}

fn ready(test: &str, server: &'static Result<S3, String>) -> Option<&'static S3> {
    match server {
        Ok(s3) => Some(s3),
        Err(reason) => {
            skip_unless_ci(test, reason);
            None
        }
    }
}

/// The `moto_server` program: next to `GIT_EXP_TEST_PYTHON` (a virtual
/// environment's bin directory), else on PATH; `Err` is the skip reason.
pub fn find_moto() -> Result<PathBuf, String> {
    let beside_python = std::env::var_os("GIT_EXP_TEST_PYTHON").map(PathBuf::from).and_then(|py| {
        Some(py.parent().filter(|d| !d.as_os_str().is_empty())?.join("moto_server"))
    });
    let on_path = || {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).map(|d| d.join("moto_server")).find(|p| p.is_file())
    };
    beside_python.filter(|p| p.is_file()).or_else(on_path).ok_or_else(|| NO_MOTO.to_owned())
}

fn var(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

fn server(tls: bool) -> Result<S3, String> {
    let credentials = [
        ("AWS_ACCESS_KEY_ID", var("GIT_EXP_TEST_S3_ACCESS_KEY_ID")),
        ("AWS_SECRET_ACCESS_KEY", var("GIT_EXP_TEST_S3_SECRET_ACCESS_KEY")),
        ("AWS_REGION", var("GIT_EXP_TEST_S3_REGION")),
    ]
    .map(|(k, v)| {
        let default = if k == "AWS_REGION" { "us-east-1" } else { "testing" };
        (k.to_owned(), v.unwrap_or_else(|| default.to_owned()))
    });
    let given =
        if tls { var("GIT_EXP_TEST_S3_TLS_ENDPOINT") } else { var("GIT_EXP_TEST_S3_ENDPOINT") };
    if let Some(endpoint) = given {
        let bucket = var("GIT_EXP_TEST_S3_BUCKET").expect("GIT_EXP_TEST_S3_BUCKET names a bucket");
        let ca = tls.then(|| {
            PathBuf::from(
                var("GIT_EXP_TEST_S3_CA")
                    .expect("GIT_EXP_TEST_S3_CA names the CA of the https endpoint"),
            )
        });
        return Ok(S3 { endpoint, bucket, ca, credentials });
    }
    let moto = find_moto()?;
    let tls_dir = if tls { Some(throwaway_ca()?) } else { None };
    let (endpoint, ca) = start_moto(&moto, tls_dir.as_deref());
    Ok(S3 { endpoint, bucket: BUCKET.to_owned(), ca, credentials })
}

/// A started server and its log: its process group is stopped and the log
/// removed when this is dropped.
struct Server(Child, PathBuf);

impl Drop for Server {
    fn drop(&mut self) {
        let group = -(self.0.id() as libc::pid_t);
        // SAFETY: kill(2) on our own child's process group.
        unsafe { libc::kill(group, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.0.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above; the group is gone or ignored SIGTERM.
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.0.wait();
        let _ = std::fs::remove_file(&self.1);
    }
}

/// The servers and the CA directories of this binary, until it exits.
static SERVERS: Mutex<Vec<Server>> = Mutex::new(Vec::new());
static TLS_DIRS: Mutex<Vec<tempfile::TempDir>> = Mutex::new(Vec::new());

/// Stops every server started here and removes the CA files (at exit).
pub(super) fn stop_all() {
    let servers = std::mem::take(&mut *SERVERS.lock().unwrap_or_else(|e| e.into_inner()));
    drop(servers);
    TLS_DIRS.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// Starts `moto` on a free port (over https with `tls_dir`'s certificate when
/// given), waits until it answers and creates the bucket. Returns the endpoint
/// and the CA file. Panics with the server's log if it does not come up.
fn start_moto(moto: &Path, tls_dir: Option<&Path>) -> (String, Option<PathBuf>) {
    let scheme = if tls_dir.is_some() { "https" } else { "http" };
    let logs = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let mut last_log = String::new();
    // A port found free can be taken before moto binds it: try another.
    for _ in 0..3 {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let log_path = logs.join(format!("moto-{}-{scheme}-{port}.log", std::process::id()));
        let log = std::fs::File::create(&log_path).expect("moto log file");
        let mut cmd = Command::new(moto);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        if let Some(dir) = tls_dir {
            cmd.arg("-c").arg(dir.join("server.pem")).arg("-k").arg(dir.join("server.key"));
        }
        cmd.stdin(Stdio::null()).stdout(log.try_clone().unwrap()).stderr(log);
        let mut server = Server(spawn_tied(cmd).expect("moto_server starts"), log_path.clone());
        at_exit();
        let ca = tls_dir.map(|d| d.join("ca.pem"));
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let created = loop {
            if !matches!(server.0.try_wait(), Ok(None)) {
                break false;
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                && put(port, &format!("/{BUCKET}"), ca.as_deref()).starts_with("HTTP/1.1 200")
            {
                break true;
            }
            assert!(Instant::now() < deadline, "moto_server did not answer on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        };
        last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if created {
            let endpoint = format!("{scheme}://127.0.0.1:{port}");
            let pid = server.0.id();
            write_stderr(&format!("moto_server: {endpoint} (pid {pid}), bucket {BUCKET}\n"));
            SERVERS.lock().unwrap_or_else(|e| e.into_inner()).push(server);
            return (endpoint, ca);
        }
    }
    panic!("moto_server ({}) did not start:\n{last_log}", moto.display());
}

/// The status line of an empty `PUT path` to the server on `port` (over TLS,
/// trusting only `ca`, when given), or "" when it did not answer.
fn put(port: u16, path: &str, ca: Option<&Path>) -> String {
    let request = format!(
        "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    );
    let mut response = Vec::new();
    match ca {
        None => {
            let Ok(mut conn) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
                return String::new();
            };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = conn.write_all(request.as_bytes());
            let _ = conn.read_to_end(&mut response);
        }
        // openssl's client speaks the TLS, checking the chain and the IP.
        Some(ca) => {
            let mut client = Command::new("openssl")
                .args(["s_client", "-quiet", "-verify_return_error", "-verify_ip", "127.0.0.1"])
                .arg("-CAfile")
                .arg(ca)
                .args(["-connect", &format!("127.0.0.1:{port}")])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("openssl runs");
            let _ = client.stdin.take().unwrap().write_all(request.as_bytes());
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(client.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = client.kill();
            let _ = client.stdout.take().unwrap().read_to_end(&mut response);
            let _ = client.wait();
        }
    }
    String::from_utf8_lossy(&response).lines().next().unwrap_or_default().to_owned()
}

/// A throwaway CA and a certificate it signed for 127.0.0.1 (an IP SAN), made
/// with `openssl` in a directory removed at exit: `ca.pem`, `server.pem`,
/// `server.key`. `Err` is the skip reason.
fn throwaway_ca() -> Result<PathBuf, String> {
    let dir = tempfile::Builder::new()
        .prefix("s3-tls-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a directory for the CA");
    let path = dir.path().to_owned();
    TLS_DIRS.lock().unwrap_or_else(|e| e.into_inner()).push(dir);
    at_exit();
    std::fs::write(
        path.join("server.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=git-exp test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    ];
    for args in steps {
        let out = match Command::new("openssl").args(args).current_dir(&path).output() {
            Ok(out) => out,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(
                    "openssl not installed (it makes the test CA): apt install openssl".to_owned()
                )
            }
            Err(e) => panic!("openssl: {e}"),
        };
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(path)
}

/// Spawns `cmd` in its own process group from a thread that lives as long as
/// the binary, with SIGTERM as its parent-death signal: the server goes when
/// the binary does, even when it is killed and no exit hook runs.
fn spawn_tied(mut cmd: Command) -> std::io::Result<Child> {
    type Job = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    cmd.process_group(0);
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls (prctl, getppid, kill) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::kill(libc::getpid(), libc::SIGTERM);
            }
            Ok(())
        });
    }
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("test-servers".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("the spawning thread starts");
        Mutex::new(tx)
    });
    let (reply, answer) = mpsc::channel();
    spawner.lock().unwrap_or_else(|e| e.into_inner()).send((cmd, reply)).expect("spawner lives");
    answer.recv().expect("spawner answers")
}
