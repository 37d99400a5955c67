//! TLS to a force's PostgreSQL: rustls with the system's roots, or the CA the URI names.

use std::path::PathBuf;
use std::sync::Arc;

use crate::custody::register::RegisterError;

/// libpq's `sslrootcert=FILE`, which the client library does not take: taken out of the
/// URI, percent-decoded.
pub(super) fn split_root_cert(url: &str) -> (String, Option<PathBuf>) {
    let Some((head, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut root = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("sslrootcert=") {
            Some(value) => {
                root = Some(PathBuf::from(
                    percent_encoding::percent_decode_str(value)
                        .decode_utf8_lossy()
                        .into_owned(),
                ));
                false
            }
            None => true,
        })
        .collect();
    let url = if kept.is_empty() {
        head.to_string()
    } else {
        format!("{head}?{}", kept.join("&"))
    };
    (url, root)
}

/// The TLS PostgreSQL's connections use when their URI asks for it (`sslmode=require`):
/// rustls (already in the tree for S3) with the system's trusted roots, or the CA in
/// `sslrootcert` alone when the URI names one (a force's own CA).
pub(super) fn tls(
    root_cert: Option<&std::path::Path>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, RegisterError> {
    let mut roots = rustls::RootCertStore::empty();
    match root_cert {
        Some(file) => {
            let unreadable = |why: String| RegisterError::Config {
                what: "register.url's sslrootcert".into(),
                why: format!(
                    "{}: {why}; name a PEM file of the CA that signed the server's certificate",
                    file.display()
                ),
            };
            let pem = std::fs::read(file).map_err(|e| unreadable(e.to_string()))?;
            let certs = rustls_pemfile_certs(&pem).map_err(unreadable)?;
            for cert in certs {
                roots.add(cert).map_err(|e| unreadable(e.to_string()))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A certificate the system lists but rustls cannot read is not a root to trust.
                let _ = roots.add(cert);
            }
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| RegisterError::Config {
        what: "register.url".into(),
        why: format!("TLS cannot be set up: {e}"),
    })?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// The certificates of a PEM file (rustls' own PEM reader, already in the tree).
fn rustls_pemfile_certs(
    pem: &[u8],
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate file ({e})"))?;
    if certs.is_empty() {
        return Err("no certificate in it".into());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslrootcert_is_taken_out_of_the_uri_decoded() {
        let (url, root) = split_root_cert(
            "postgresql://a@db/s?sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20x.pem&application_name=z",
        );
        assert_eq!(
            url,
            "postgresql://a@db/s?sslmode=verify-full&application_name=z"
        );
        assert_eq!(root, Some(PathBuf::from("/etc/ca x.pem")));
        assert_eq!(split_root_cert("postgresql:///s").0, "postgresql:///s");
    }
}
