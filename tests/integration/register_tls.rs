//! The register on a PostgreSQL reached over the network: TLS, with the server identified
//! by the CA the URI names (`sslrootcert`), as a force's dock reaches its central server.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use sentinel_dock::base::config::RegisterConfig;
use sentinel_dock::custody::register::{DockEvent, Register};

use crate::common::postgres::Postgres;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (Debian's openssl) runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.2 signed by it, and another CA.
fn certificates(dir: &Path) {
    let ca = [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
    ];
    openssl(
        dir,
        &[
            &ca[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=force CA",
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &ca[..],
            &[
                "-keyout",
                "other.key",
                "-out",
                "other.pem",
                "-subj",
                "/CN=other CA",
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.2",
        ],
    );
    std::fs::write(dir.join("san.cnf"), "subjectAltName=IP:127.0.0.2\n").unwrap();
    openssl(
        dir,
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
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.cnf",
        ],
    );
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    if nix::unistd::geteuid().is_root() {
        // The server runs as `postgres` and reads only a key it owns.
        let status = Command::new("chown")
            .args(["postgres:postgres", "server.key", "server.pem"])
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

fn register(url: String) -> Result<Register, sentinel_dock::custody::register::RegisterError> {
    let config = RegisterConfig {
        path: "/nonexistent/unused.sqlite".into(),
        url: Some(url),
        password_file: None,
    };
    Register::open_config(&config, "")
}

#[test]
fn the_register_speaks_tls_to_the_server_its_ca_signed_and_refuses_any_other() {
    let pg = Postgres::start();
    let certs = tempfile::Builder::new()
        .prefix("sentinel-tls-")
        .tempdir_in("/tmp")
        .unwrap();
    certificates(certs.path());
    // Only TLS connections from the network: a plain one is turned away.
    let hba = pg.dir().join("data/pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(&hba, format!("hostssl all all 127.0.0.0/8 trust\n{rules}")).unwrap();
    pg.database("force");
    // The server's port stays 5432 (its socket's name, which scripts/postgres waits on), on
    // an address of its own: a machine's own PostgreSQL may hold 127.0.0.1:5432.
    pg.restart_with(&format!(
        "-c ssl=on -c ssl_cert_file={dir}/server.pem -c ssl_key_file={dir}/server.key \
         -c listen_addresses=127.0.0.2",
        dir = certs.path().display()
    ));
    let url = |mode: &str, ca: &str| {
        format!(
            "postgresql://postgres@127.0.0.2:5432/force?sslmode={mode}&sslrootcert={}",
            certs.path().join(ca).display()
        )
    };

    let mut reg = register(url("verify-full", "ca.pem")).expect("TLS to the force's server");
    reg.record_dock_event("SNTL-00042", DockEvent::Docked, "slot", chrono::Utc::now())
        .unwrap();
    assert_eq!(reg.dock_events("SNTL-00042").unwrap().len(), 1);

    let err = register(url("verify-full", "other.pem"))
        .err()
        .expect("another CA's server");
    let words = sentinel_dock::base::error::chain(&err);
    assert!(words.to_lowercase().contains("certificate"), "{words}");

    let err = register(url("disable", "ca.pem"))
        .err()
        .expect("plain text is turned away");
    let words = sentinel_dock::base::error::chain(&err);
    assert!(words.contains("no encryption"), "{words}");
}
