//! The one HTTP client of the app: every request Video2Doc makes to the network (model
//! downloads, the summary endpoint) goes through [`Http`].
//!
//! It owns what a request needs to work where people are: TLS by rustls with the
//! operating system's certificate store (rustls-platform-verifier, so a university's or
//! a company's own CA is trusted as the system trusts it; on Linux `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` are honoured as OpenSSL does), the proxy of `HTTPS_PROXY`/`HTTP_PROXY`/
//! `ALL_PROXY` with `NO_PROXY` (and Windows' system proxy), redirects (to a CDN), a stall
//! timeout that is reset by every byte received; and what a failure means, in plain
//! words ([`NetError`]), with [`NetError::is_transient`] telling a dropped connection
//! (worth resuming) from a refusal (an untrusted certificate, a proxy saying no).

use std::io::Read;
use std::time::Duration;

/// Why a request failed, said so that a person knows what to do.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("{url} is not a web address this app can use")]
    BadUrl {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("could not find {host} (no network, or the name is wrong?)")]
    HostNotFound {
        host: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("could not reach {host} (no network?)")]
    Unreachable {
        host: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("the certificate of {host} is not trusted ({reason}); if your network uses its own certificate authority, install it in the system's certificate store")]
    Untrusted {
        host: String,
        reason: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("a secure connection to {host} could not be made ({reason})")]
    Tls {
        host: String,
        reason: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("the proxy {proxy} refused the connection to {host} ({reason})")]
    ProxyRefused {
        proxy: String,
        host: String,
        reason: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("{host} answered {status} ({meaning})")]
    Status {
        host: String,
        status: u16,
        meaning: &'static str,
    },
    #[error("{host} stopped sending: nothing arrived for {seconds} s")]
    Stalled { host: String, seconds: u64 },
    #[error("{host} did not answer in time")]
    Timeout {
        host: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("the connection to {host} broke ({reason})")]
    Dropped {
        host: String,
        reason: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("the connection to {host} ended after {done} of {total} bytes")]
    Truncated { host: String, done: u64, total: u64 },
    #[error("{host} sent too many redirects")]
    Redirects {
        host: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("{host} sent an answer this app cannot read ({reason})")]
    BadAnswer { host: String, reason: String },
}

impl NetError {
    /// Whether trying again later may work: the network dropped or stalled, the server
    /// was busy. False for what repeats (an untrusted certificate, a refusing proxy, a
    /// missing file).
    pub fn is_transient(&self) -> bool {
        match self {
            NetError::Unreachable { .. }
            | NetError::HostNotFound { .. }
            | NetError::Stalled { .. }
            | NetError::Timeout { .. }
            | NetError::Dropped { .. }
            | NetError::Truncated { .. } => true,
            NetError::Status { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// Classifies an error ureq returned for a request to `url`.
    fn from_ureq(url: &str, proxy: Option<&str>, e: ureq::Error) -> NetError {
        let host = host_of(url);
        match e {
            ureq::Error::BadUri(_) | ureq::Error::Http(_) | ureq::Error::InvalidProxyUrl => {
                NetError::BadUrl {
                    url: url.to_string(),
                    source: e.into(),
                }
            }
            ureq::Error::StatusCode(status) => NetError::Status {
                host,
                status,
                meaning: status_meaning(status),
            },
            ureq::Error::HostNotFound => not_found(host, proxy, e),
            ureq::Error::ConnectProxyFailed(ref reason) => NetError::ProxyRefused {
                proxy: proxy.unwrap_or("(from the environment)").to_string(),
                host,
                reason: reason.clone(),
                source: e.into(),
            },
            ureq::Error::Timeout(_) => NetError::Timeout {
                host,
                source: e.into(),
            },
            ureq::Error::TooManyRedirects => NetError::Redirects {
                host,
                source: e.into(),
            },
            ureq::Error::Rustls(ref tls) => tls_error(host, tls.clone(), e),
            ureq::Error::Tls(reason) => NetError::Tls {
                host,
                reason: reason.to_string(),
                source: e.into(),
            },
            ureq::Error::Io(ref io) => {
                if let Some(tls) = io
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                {
                    return tls_error(host, tls.clone(), e);
                }
                // std reports a failed name lookup as an uncategorised error.
                let text = io.to_string();
                if text.contains("lookup address") || text.contains("name resolution") {
                    return not_found(host, proxy, e);
                }
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::AddrNotAvailable
                        if proxy.is_some() =>
                    {
                        NetError::Unreachable {
                            host: format!("the proxy {}", proxy.unwrap_or_default()),
                            source: e.into(),
                        }
                    }
                    std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::AddrNotAvailable => NetError::Unreachable {
                        host,
                        source: e.into(),
                    },
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                        NetError::Timeout {
                            host,
                            source: e.into(),
                        }
                    }
                    _ => NetError::Dropped {
                        host,
                        reason: io.to_string(),
                        source: e.into(),
                    },
                }
            }
            ureq::Error::ConnectionFailed => NetError::Unreachable {
                host,
                source: e.into(),
            },
            other => NetError::Dropped {
                host,
                reason: other.to_string(),
                source: other.into(),
            },
        }
    }
}

/// A name that could not be looked up: the proxy's, when there is one (the proxy looks
/// up the server's).
fn not_found(host: String, proxy: Option<&str>, e: ureq::Error) -> NetError {
    match proxy {
        Some(p) => NetError::Unreachable {
            host: format!("the proxy {p}"),
            source: e.into(),
        },
        None => NetError::HostNotFound {
            host,
            source: e.into(),
        },
    }
}

fn tls_error(host: String, tls: rustls::Error, source: ureq::Error) -> NetError {
    let source = Box::new(source);
    match tls {
        rustls::Error::InvalidCertificate(why) => NetError::Untrusted {
            host,
            reason: certificate_problem(&why),
            source,
        },
        other => NetError::Tls {
            host,
            reason: other.to_string(),
            source,
        },
    }
}

fn certificate_problem(e: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match e {
        C::UnknownIssuer => "it is signed by an authority this computer does not know".into(),
        C::Expired | C::ExpiredContext { .. } => "it has expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "it is not valid yet (is this computer's clock right?)".into()
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "it was made for another name".into()
        }
        C::Revoked => "it has been revoked".into(),
        C::BadSignature => "its signature is wrong".into(),
        other => format!("{other:?}"),
    }
}

fn status_meaning(status: u16) -> &'static str {
    match status {
        401 | 403 => "access refused",
        404 | 410 => "no such file there",
        407 => "the proxy wants a login",
        408 | 504 => "the server timed out",
        416 => "the range asked is past the end of the file",
        429 => "too many requests; try later",
        500..=599 => "the server has a problem; try later",
        _ => "not what was expected",
    }
}

/// The host (and port, when one is given) of `url`, for messages.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority)
        .to_string()
}

/// Where requests go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyChoice {
    /// `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` (either case) with `NO_PROXY`; on
    /// Windows the system's proxy when none is set.
    FromEnvironment,
    /// Straight to the server.
    Direct,
    /// This proxy (`http://host:port`, `socks5://…`), except for these `NO_PROXY`
    /// patterns.
    Url { url: String, no_proxy: Vec<String> },
}

/// An HTTP client with the app's TLS, proxy and timeouts.
#[derive(Clone)]
pub struct Http {
    agent: ureq::Agent,
    /// The proxy's address, for messages.
    proxy: Option<String>,
    stall: Duration,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("proxy", &self.proxy)
            .field("stall", &self.stall)
            .finish()
    }
}

/// How long a connection may take to open, and how long a response may go silent.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
const STALL_TIMEOUT: Duration = Duration::from_secs(30);

impl Http {
    /// The client as the app uses it: proxies from the environment.
    pub fn from_environment() -> Http {
        Http::new(ProxyChoice::FromEnvironment, STALL_TIMEOUT)
            .expect("the environment's proxy is parsed leniently")
    }

    /// A client through `proxy`, giving up on a response silent for `stall`.
    pub fn new(proxy: ProxyChoice, stall: Duration) -> Result<Http, NetError> {
        let (proxy, shown) = match proxy {
            ProxyChoice::FromEnvironment => {
                let p = ureq::Proxy::try_from_env();
                let shown = p.as_ref().map(|p| format!("{}:{}", p.host(), p.port()));
                (p, shown)
            }
            ProxyChoice::Direct => (None, None),
            ProxyChoice::Url { url, no_proxy } => {
                let parsed = ureq::Proxy::new(&url).map_err(|source| NetError::BadUrl {
                    url: url.clone(),
                    source: source.into(),
                })?;
                let mut b = ureq::Proxy::builder(parsed.protocol())
                    .host(parsed.host())
                    .port(parsed.port());
                if let Some(u) = parsed.username() {
                    b = b.username(u);
                }
                if let Some(p) = parsed.password() {
                    b = b.password(p);
                }
                for n in &no_proxy {
                    b = b.no_proxy(n);
                }
                let p = b.build().map_err(|source| NetError::BadUrl {
                    url: url.clone(),
                    source: source.into(),
                })?;
                (Some(p), Some(host_of(&url)))
            }
        };
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .proxy(proxy)
            .http_status_as_error(false)
            .max_redirects(10)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_per_read(Some(stall))
            .user_agent(concat!("Video2Doc/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Http {
            agent,
            proxy: shown,
            stall,
        })
    }

    fn fail(&self, url: &str, e: ureq::Error) -> NetError {
        if let ureq::Error::Timeout(ureq::Timeout::PerRead | ureq::Timeout::RecvBody) = e {
            return NetError::Stalled {
                host: host_of(url),
                seconds: self.stall.as_secs().max(1),
            };
        }
        NetError::from_ureq(url, self.proxy.as_deref(), e)
    }

    /// GETs `url` with `headers`, following redirects. Any status is returned: the
    /// caller decides (a download wants 206 and 416 too).
    pub fn get(&self, url: &str, headers: &[(&str, String)]) -> Result<Response, NetError> {
        let mut req = self.agent.get(url);
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let resp = req.call().map_err(|e| self.fail(url, e))?;
        Ok(Response {
            url: url.to_string(),
            http: self.clone(),
            inner: resp,
        })
    }

    /// POSTs `body` as JSON and reads a JSON answer, within `timeout` overall; any
    /// status but 2xx is an error.
    pub fn post_json(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<serde_json::Value, NetError> {
        let mut req = self
            .agent
            .post(url)
            .config()
            .timeout_global(Some(timeout))
            .build();
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let mut resp = req.send_json(body).map_err(|e| self.fail(url, e))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(NetError::Status {
                host: host_of(url),
                status,
                meaning: status_meaning(status),
            });
        }
        resp.body_mut()
            .with_config()
            .limit(16 << 20)
            .read_json()
            .map_err(|e| match e {
                ureq::Error::Json(j) => NetError::BadAnswer {
                    host: host_of(url),
                    reason: j.to_string(),
                },
                other => self.fail(url, other),
            })
    }
}

/// A response whose body has not been read yet.
pub struct Response {
    url: String,
    http: Http,
    inner: ureq::http::Response<ureq::Body>,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.inner.status().as_u16()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// The error this response is, when its status is not what the caller wanted.
    pub fn status_error(&self) -> NetError {
        NetError::Status {
            host: host_of(&self.url),
            status: self.status(),
            meaning: status_meaning(self.status()),
        }
    }

    /// The body as a reader whose errors are [`NetError`]s.
    pub fn into_body(self) -> BodyReader {
        BodyReader {
            url: self.url,
            http: self.http,
            inner: Box::new(self.inner.into_body().into_reader()),
        }
    }
}

/// A response body being read.
pub struct BodyReader {
    url: String,
    http: Http,
    inner: Box<dyn Read + Send>,
}

impl BodyReader {
    /// Reads some bytes; 0 at the end.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        self.inner
            .read(buf)
            .map_err(|e| self.http.fail(&self.url, ureq::Error::from(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_named_without_credentials_or_paths() {
        assert_eq!(
            host_of("https://huggingface.co/ggerganov/x.bin"),
            "huggingface.co"
        );
        assert_eq!(
            host_of("http://user:pw@127.0.0.1:8080/v1?x"),
            "127.0.0.1:8080"
        );
        assert_eq!(host_of("example.org"), "example.org");
    }

    #[test]
    fn a_refused_connection_is_unreachable_and_transient() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let http = Http::new(ProxyChoice::Direct, Duration::from_secs(5)).unwrap();
        let e = http
            .get(&format!("http://127.0.0.1:{port}/x"), &[])
            .err()
            .unwrap();
        assert!(matches!(e, NetError::Unreachable { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!("could not reach 127.0.0.1:{port} (no network?)")
        );
        assert!(e.is_transient());
    }

    #[test]
    fn an_unknown_name_is_said_plainly() {
        let http = Http::new(ProxyChoice::Direct, Duration::from_secs(5)).unwrap();
        let e = http
            .get("https://no-such-host.invalid/model.bin", &[])
            .err()
            .unwrap();
        assert!(matches!(e, NetError::HostNotFound { .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("could not find no-such-host.invalid"),
            "{e}"
        );
    }
}
