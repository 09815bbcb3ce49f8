//! Why a fetch failed: each error names the URL (its password, if it has one,
//! hidden) and, through [`Diagnose`], what to do; which failures are tried again.

use crate::diagnose::Diagnose;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Not a URL, or not one mpm fetches.
    #[error("`{url}`: {reason}")]
    UnsupportedUrl { url: String, reason: String },
    /// The server answered, but not with the file.
    #[error("GET {url}: {}", status_line(*.status, .reason))]
    Status {
        url: String,
        status: u16,
        /// The status's standard reason (`Not Found`); empty for a code that has none.
        reason: String,
        /// How many times it was asked: more than 1 for a 5xx.
        attempts: u32,
    },
    /// Connecting, or the whole answer, took longer than the policy allows.
    #[error("GET {url}: {}", timed_out(*.phase, *.after))]
    Timeout {
        url: String,
        phase: Phase,
        after: Duration,
    },
    /// No connection could be made (refused, no route, no such host).
    #[error("GET {url}: cannot connect: {message}")]
    Connect {
        url: String,
        message: String,
        attempts: u32,
    },
    /// The TLS handshake failed: a certificate this system does not trust, or a
    /// server that does not speak TLS on that port.
    #[error("GET {url}: TLS failed: {message}")]
    Tls { url: String, message: String },
    /// A connection was made, then lost before the whole answer arrived.
    #[error("GET {url}: the connection broke: {message}")]
    Broken {
        url: String,
        message: String,
        attempts: u32,
    },
    /// The body is longer than the request allows.
    #[error("GET {url}: {}", too_large(*.limit, *.size))]
    TooLarge {
        url: String,
        limit: u64,
        /// As the server announced it (`Content-Length`), when it did.
        size: Option<u64>,
    },
    /// A redirect mpm does not follow.
    #[error("GET {url}: {refused}")]
    Redirect {
        url: String,
        refused: RedirectRefused,
    },
    /// The HTTP client could not be started.
    #[error("GET {url}: cannot start the HTTP client: {message}")]
    Setup { url: String, message: String },
}

/// Which time-out ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `http.connect_timeout`: making the connection (the TLS handshake included).
    Connect,
    /// `http.timeout`: the whole attempt, from connecting to the body's last byte.
    Answer,
}

/// A redirect mpm refuses to follow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectRefused {
    #[error("more than {0} redirects")]
    TooMany(usize),
    #[error("redirected from `https` to `{0}`, which mpm does not follow")]
    Downgrade(String),
}

fn status_line(status: u16, reason: &str) -> String {
    if reason.is_empty() {
        status.to_string()
    } else {
        format!("{status} {reason}")
    }
}

fn timed_out(phase: Phase, after: Duration) -> String {
    let after = shown(after);
    match phase {
        Phase::Connect => format!("no connection within {after}"),
        Phase::Answer => format!("no complete answer within {after}"),
    }
}

fn too_large(limit: u64, size: Option<u64>) -> String {
    match size {
        Some(size) => format!("the body is {size} bytes, more than the {limit} allowed"),
        None => format!("the body is more than the {limit} bytes allowed"),
    }
}

/// A duration as the settings show it (`300ms`, `1m`).
fn shown(d: Duration) -> String {
    crate::config::Kind::show(&d, std::path::Path::new(""))
}

impl FetchError {
    /// The URL it is about, as shown.
    pub fn url(&self) -> &str {
        match self {
            FetchError::UnsupportedUrl { url, .. }
            | FetchError::Status { url, .. }
            | FetchError::Timeout { url, .. }
            | FetchError::Connect { url, .. }
            | FetchError::Tls { url, .. }
            | FetchError::Broken { url, .. }
            | FetchError::TooLarge { url, .. }
            | FetchError::Redirect { url, .. }
            | FetchError::Setup { url, .. } => url,
        }
    }

    /// Whether another attempt may go better: a connection that failed or broke, a
    /// server error (5xx). Never a 4xx, a time-out (a server that does not answer
    /// would cost a time-out per attempt), TLS, a size or a redirect refused.
    pub(super) fn is_transient(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => (500..600).contains(status),
            FetchError::Connect { .. } | FetchError::Broken { .. } => true,
            _ => false,
        }
    }

    /// Records how many attempts it took to fail.
    pub(super) fn after_attempts(mut self, n: u32) -> FetchError {
        if let FetchError::Status { attempts, .. }
        | FetchError::Connect { attempts, .. }
        | FetchError::Broken { attempts, .. } = &mut self
        {
            *attempts = n;
        }
        self
    }
}

/// `N times` in words a hint reads well with.
fn times(n: u32) -> String {
    match n {
        1 => "once".into(),
        2 => "twice".into(),
        n => format!("{n} times"),
    }
}

const OFFLINE: &str = "use `--offline` with what `mpm.lock` and the cache hold";

impl Diagnose for FetchError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            FetchError::UnsupportedUrl { .. } => {
                "mpm fetches `https://` URLs (and `http://`); check the URL".into()
            }
            FetchError::Status { status, attempts, .. } => match status {
                404 | 410 => "check the URL, and the registry's index that names it".into(),
                401 | 403 => "the server refuses mpm this file: check the URL, and that the registry is one mpm may read without logging in".into(),
                429 => "the server wants fewer requests: try again later, or lower the `http.concurrency` setting (`MPM_HTTP_CONCURRENCY`)".into(),
                500..=599 => format!("the server failed {}; try again later, or {OFFLINE}", times(*attempts)),
                _ => "check the URL".into(),
            },
            FetchError::Timeout { phase: Phase::Connect, .. } => "check the host and your network; if the network is slow, raise the `http.connect_timeout` setting (`MPM_HTTP_CONNECT_TIMEOUT=30s`)".into(),
            FetchError::Timeout { phase: Phase::Answer, .. } => format!("if the server is slow, raise the `http.timeout` setting (`MPM_HTTP_TIMEOUT=5m`), or {OFFLINE}"),
            FetchError::Connect { attempts, .. } => format!(
                "mpm tried {}; check the URL's host and port, your network and any proxy (`HTTPS_PROXY`), or {OFFLINE}",
                times(*attempts)
            ),
            FetchError::Tls { .. } => "check the URL (is it `https://` to a server that speaks TLS?); a certificate is checked against the system's store: on a system with no CA certificates, install them, or point `SSL_CERT_FILE` at a bundle".into(),
            FetchError::Broken { attempts, .. } => format!("the connection broke {}; try again later, or {OFFLINE}", times(*attempts)),
            FetchError::TooLarge { .. } => "check that the URL names the file it should".into(),
            FetchError::Redirect { refused: RedirectRefused::TooMany(_), .. } => "the server redirects in circles: check the URL".into(),
            FetchError::Redirect { refused: RedirectRefused::Downgrade(_), .. } => "a file asked for over `https` is not fetched over plain `http`: check the URL, or write the `http://` URL if that is what you mean".into(),
            FetchError::Setup { .. } => return None,
        })
    }
}
