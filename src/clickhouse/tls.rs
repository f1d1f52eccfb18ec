//! The HTTP(S) client netmap hands to the `clickhouse` crate, with a trust
//! store it builds itself.
//!
//! Owns: which certificate authorities an `https://` connection trusts —
//! the system's (as `rustls-native-certs` finds them, which honours
//! `SSL_CERT_FILE` and `SSL_CERT_DIR`) plus `--ca-cert FILE` (PEM, one or
//! more certificates) — and the errors when there are none or the file is
//! bad. The crate's own default client unwraps the system store and panics
//! when it is empty (a container without a CA bundle, a wrong
//! `SSL_CERT_FILE`), for `http://` URLs too; this one never panics, and a
//! plain `http://` URL does not look at certificates at all.
//! Leaves everything else (requests, retries, errors of queries) to the
//! crate and to [`super::Ch`].

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::error::{Error, Result};

/// As the crate's default client: TCP keep-alive, and idle connections
/// dropped before ClickHouse's 3 s keep-alive timeout closes them.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// The certificates of a PEM file (`--ca-cert`).
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Usage(format!("--ca-cert {}: not a PEM certificate file: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Usage(format!(
            "--ca-cert {}: no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(certs)
}

/// The trust store for `https://`: the system's certificates plus `ca_cert`'s.
/// Errors when nothing at all is trusted (every server would be refused).
pub fn root_store(ca_cert: Option<&Path>) -> Result<rustls::RootCertStore> {
    let mut store = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    store.add_parsable_certificates(native.certs);
    if let Some(p) = ca_cert {
        for c in read_ca_file(p)? {
            store
                .add(c)
                .map_err(|e| Error::Usage(format!("--ca-cert {}: not a usable CA certificate: {e}", p.display())))?;
        }
    }
    if store.is_empty() {
        return Err(Error::Usage(
            "no trusted CA certificates for https: none found on this system (SSL_CERT_FILE, SSL_CERT_DIR, the system store); \
             give the server's CA with --ca-cert FILE"
                .into(),
        ));
    }
    Ok(store)
}

/// A client for `url` (`http://` or `https://`); `ca_cert` only with `https://`.
pub fn client(url: &str, ca_cert: Option<&Path>) -> Result<clickhouse::Client> {
    let https = url.starts_with("https://");
    if ca_cert.is_some() && !https {
        return Err(Error::Usage("--ca-cert is for https:// URLs; this one is plain http://".into()));
    }
    let mut http = HttpConnector::new();
    http.set_keepalive(Some(TCP_KEEPALIVE));
    let builder = || {
        let mut b = Client::builder(TokioExecutor::new());
        b.pool_idle_timeout(POOL_IDLE_TIMEOUT);
        b
    };
    if !https {
        return Ok(clickhouse::Client::with_http_client(builder().build(http)));
    }
    http.enforce_http(false);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Other(format!("cannot set up TLS: {e}")))?
        .with_root_certificates(root_store(ca_cert)?)
        .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .wrap_connector(http);
    Ok(clickhouse::Client::with_http_client(builder().build(connector)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_files_are_checked() {
        let dir = std::env::temp_dir().join(format!("netmap-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let e = read_ca_file(&empty).unwrap_err().to_string();
        assert!(e.contains("no certificate in it"), "{e}");
        let e = read_ca_file(&dir.join("missing.pem")).unwrap_err().to_string();
        assert!(e.contains("missing.pem: no such file or directory"), "{e}");
        let e = client("http://127.0.0.1:1", Some(&empty)).unwrap_err().to_string();
        assert!(e.contains("--ca-cert is for https://"), "{e}");
        // A plain http URL never looks at certificates.
        assert!(client("http://127.0.0.1:1", None).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
