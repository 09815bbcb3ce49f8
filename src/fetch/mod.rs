//! HTTP for registries: [`fetch_all`] GETs a list of URLs, each with its own
//! `ETag` and size limit, under one [`Policy`] of time-outs, retries and
//! concurrency, and gives back one result per request, in their order.
//!
//! The runtime (tokio, one thread: the work is waiting, not computing) and the
//! client (reqwest over rustls, HTTP/1.1) exist only inside [`fetch_all`], so a
//! command that fetches nothing starts neither; its requests share one client and
//! so their connections.
//!
//! What is tried again: a connection that could not be made or broke before the
//! whole answer arrived, and a server error (5xx), up to [`Policy::retries`] more
//! times, after 100 ms, 200 ms, 400 ms... (at most 10 s). Never a 4xx, and never
//! a time-out: [`Policy::timeout`] bounds each attempt from connecting to the
//! body's last byte, so a server that accepts and never answers fails after one
//! time-out, and one that answers 5xx slowly within `(retries + 1) × timeout` and
//! the pauses. Redirects are followed up to [`REDIRECTS`], never from `https` to
//! `http`. Proxies come from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and
//! `NO_PROXY`; certificates are checked against the system's store.

mod error;
#[cfg(test)]
pub(crate) mod test_server;

pub use error::{FetchError, Phase, RedirectRefused};

use crate::config::Settings;
use crate::options::Options;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::header::{ETAG, HeaderValue, IF_NONE_MATCH};
use reqwest::{StatusCode, Url};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The most redirects one request follows.
pub const REDIRECTS: usize = 10;
/// The fewest requests that get a progress bar: fewer are over before one helps.
pub const PROGRESS_FROM: usize = 5;
/// The pause before the first retry; it doubles for each next one.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(10);

/// How requests are made: the `http.*` settings, and whether to show progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// How long making a connection (its TLS handshake included) may take; zero:
    /// as long as the system allows.
    pub connect_timeout: Duration,
    /// How long one attempt may take, from connecting to the body's last byte;
    /// zero: no limit.
    pub timeout: Duration,
    /// How many more times a transient failure is tried.
    pub retries: u32,
    /// How many requests are made at once (0 is taken as 1).
    pub concurrency: usize,
    /// A progress bar on stderr (for [`PROGRESS_FROM`] requests or more). The caller
    /// decides: stderr is a terminal and the output is not `--json`.
    pub progress: bool,
}

impl Default for Policy {
    /// Connect within 10 s, finish within 60 s, 3 retries, 8 at a time, no progress
    /// (the settings' defaults).
    fn default() -> Self {
        Policy {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            retries: 3,
            concurrency: 8,
            progress: false,
        }
    }
}

impl Policy {
    /// The `http.*` settings; no progress bar (the caller decides that).
    pub fn from_settings(settings: &Settings) -> Policy {
        Policy {
            connect_timeout: settings.http_connect_timeout.value,
            timeout: settings.http_timeout.value,
            retries: settings.http_retries.value,
            concurrency: settings.http_concurrency.value.get(),
            progress: false,
        }
    }

    pub fn from_options(options: &Options) -> Policy {
        Policy::from_settings(&options.settings)
    }
}

/// One GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub url: String,
    /// The `ETag` of the copy the caller holds, sent as `If-None-Match`: when the
    /// server still has it, the result is [`Fetched::NotModified`].
    pub etag: Option<String>,
    /// The longest body accepted; a longer one is [`FetchError::TooLarge`].
    pub max_bytes: Option<u64>,
}

impl Request {
    /// A GET of `url` with no `ETag` and no size limit.
    pub fn get(url: impl Into<String>) -> Request {
        Request {
            url: url.into(),
            etag: None,
            max_bytes: None,
        }
    }
}

/// What a request brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// A 2xx: the body, and the `ETag` to send next time (as the server wrote it,
    /// quotes and all).
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
    },
    /// A 304 to the request's `ETag`: the caller's copy is current.
    NotModified,
}

/// Makes every request and gives back one result for each, in the same order.
pub fn fetch_all(requests: &[Request], policy: &Policy) -> Vec<Result<Fetched, FetchError>> {
    if requests.is_empty() {
        return Vec::new();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return every_fails(requests, &e.to_string()),
    };
    let client = {
        let _inside = runtime.enter();
        match client(policy) {
            Ok(client) => client,
            Err(e) => return every_fails(requests, &deepest(&e)),
        }
    };
    let progress = progress_bar(requests.len(), policy.progress);
    let results = runtime.block_on(run(
        client,
        requests.to_vec().into(),
        policy.clone(),
        progress.clone(),
    ));
    progress.finish_and_clear();
    results
}

fn every_fails(requests: &[Request], message: &str) -> Vec<Result<Fetched, FetchError>> {
    requests
        .iter()
        .map(|r| {
            Err(FetchError::Setup {
                url: shown_str(&r.url),
                message: message.to_string(),
            })
        })
        .collect()
}

fn client(policy: &Policy) -> reqwest::Result<reqwest::Client> {
    // ring, not reqwest's default aws-lc-rs (which builds far more C); installed
    // for the process, once: a second install is refused, harmlessly
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("mpm/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::custom(
            |attempt| match refused_redirect(attempt.previous(), attempt.url()) {
                Some(refused) => attempt.error(refused),
                None => attempt.follow(),
            },
        ));
    if !policy.connect_timeout.is_zero() {
        builder = builder.connect_timeout(policy.connect_timeout);
    }
    if !policy.timeout.is_zero() {
        builder = builder.timeout(policy.timeout);
    }
    builder.build()
}

/// Why the redirect to `next` is not followed, after the requests to `previous`
/// (the first is the request's own URL).
fn refused_redirect(previous: &[Url], next: &Url) -> Option<RedirectRefused> {
    if previous.len() > REDIRECTS {
        return Some(RedirectRefused::TooMany(REDIRECTS));
    }
    let from_https = previous.last().is_some_and(|u| u.scheme() == "https");
    (from_https && next.scheme() != "https").then(|| RedirectRefused::Downgrade(shown(next)))
}

fn progress_bar(total: usize, wanted: bool) -> ProgressBar {
    if !wanted || total < PROGRESS_FROM {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(
        Some(u64::try_from(total).unwrap_or(u64::MAX)),
        ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix("Fetching");
    bar
}

/// `policy.concurrency` workers, each taking the next request until none is left.
async fn run(
    client: reqwest::Client,
    requests: Arc<[Request]>,
    policy: Policy,
    progress: ProgressBar,
) -> Vec<Result<Fetched, FetchError>> {
    let next = Arc::new(AtomicUsize::new(0));
    let policy = Arc::new(policy);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..policy.concurrency.clamp(1, requests.len()) {
        let (client, requests, next, policy, progress) = (
            client.clone(),
            Arc::clone(&requests),
            Arc::clone(&next),
            Arc::clone(&policy),
            progress.clone(),
        );
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i) else {
                    break;
                };
                done.push((i, fetch_one(&client, request, &policy).await));
                progress.inc(1);
            }
            done
        });
    }
    // the workers took the requests in turns: sorting by index restores their order
    let mut all: Vec<(usize, Result<Fetched, FetchError>)> = Vec::with_capacity(requests.len());
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(done) => all.extend(done),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {}
        }
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// One request, tried again while its failure is transient and retries are left.
async fn fetch_one(
    client: &reqwest::Client,
    request: &Request,
    policy: &Policy,
) -> Result<Fetched, FetchError> {
    let url = parsed(&request.url)?;
    let mut attempts = 1;
    loop {
        match attempt(client, &url, request, policy).await {
            Err(e) if e.is_transient() && attempts <= policy.retries => {
                tokio::time::sleep(pause(attempts)).await;
                attempts += 1;
            }
            result => return result.map_err(|e| e.after_attempts(attempts)),
        }
    }
}

/// The pause before retry `n` (1 for the first).
fn pause(n: u32) -> Duration {
    FIRST_PAUSE
        .saturating_mul(1 << n.saturating_sub(1).min(16))
        .min(LONGEST_PAUSE)
}

/// The request's URL, if it is one mpm fetches.
fn parsed(url: &str) -> Result<Url, FetchError> {
    let unsupported = |reason: String| FetchError::UnsupportedUrl {
        url: url.to_string(),
        reason,
    };
    let parsed = Url::parse(url).map_err(|e| unsupported(format!("not a URL ({e})")))?;
    match parsed.scheme() {
        "http" | "https" if parsed.has_host() => Ok(parsed),
        "http" | "https" => Err(unsupported("the URL names no host".into())),
        _ => Err(FetchError::UnsupportedUrl {
            url: shown(&parsed),
            reason: "mpm fetches only `http` and `https` URLs".into(),
        }),
    }
}

/// One attempt: the answer and its whole body.
async fn attempt(
    client: &reqwest::Client,
    url: &Url,
    request: &Request,
    policy: &Policy,
) -> Result<Fetched, FetchError> {
    let failed = |e: reqwest::Error| classify(url, &e, policy);
    let mut get = client.get(url.clone());
    // a tag that cannot be a header (an edited cache) is not sent: the body comes
    // again, which is never wrong
    if let Some(tag) = request
        .etag
        .as_deref()
        .and_then(|t| HeaderValue::from_str(t).ok())
    {
        get = get.header(IF_NONE_MATCH, tag);
    }
    let mut response = get.send().await.map_err(failed)?;
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED && request.etag.is_some() {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err(FetchError::Status {
            url: shown(url),
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or_default().to_string(),
            attempts: 1,
        });
    }
    let too_large = |size| FetchError::TooLarge {
        url: shown(url),
        limit: request.max_bytes.unwrap_or_default(),
        size,
    };
    let announced = response.content_length();
    if let (Some(limit), Some(size)) = (request.max_bytes, announced)
        && size > limit
    {
        return Err(too_large(Some(size)));
    }
    let etag = response
        .headers()
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // what the server announced, but never more than is allowed, nor a huge
    // guess before a byte arrived
    let expected = announced
        .unwrap_or(0)
        .min(request.max_bytes.unwrap_or(u64::MAX))
        .min(1 << 24);
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if let Some(limit) = request.max_bytes
            && (bytes.len() + chunk.len()) as u64 > limit
        {
            return Err(too_large(None));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Fetched::Body { bytes, etag })
}

/// What a failure of reqwest's was, in mpm's words.
fn classify(url: &Url, e: &reqwest::Error, policy: &Policy) -> FetchError {
    let url = shown(url);
    if let Some(refused) = find::<RedirectRefused>(e) {
        return FetchError::Redirect {
            url,
            refused: refused.clone(),
        };
    }
    if e.is_timeout() {
        let (phase, after) = if e.is_connect() {
            (Phase::Connect, policy.connect_timeout)
        } else {
            (Phase::Answer, policy.timeout)
        };
        return FetchError::Timeout { url, phase, after };
    }
    if let Some(tls) = find::<rustls::Error>(e) {
        return FetchError::Tls {
            url,
            message: tls.to_string(),
        };
    }
    let message = deepest(e);
    if e.is_connect() {
        FetchError::Connect {
            url,
            message,
            attempts: 1,
        }
    } else if e.is_builder() {
        FetchError::UnsupportedUrl {
            url,
            reason: message,
        }
    } else {
        FetchError::Broken {
            url,
            message,
            attempts: 1,
        }
    }
}

/// The first error of type `T` among `e`'s causes (looking inside I/O errors,
/// whose `source` skips the error they wrap).
fn find<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && let Some(found) = find::<T>(inner)
        {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// The innermost cause's message: the one that says what happened
/// (`Connection refused (os error 111)`), not `error sending request`.
fn deepest(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// A URL as errors show it: with its password, if it has one, hidden.
fn shown(url: &Url) -> String {
    if url.password().is_none() {
        return url.to_string();
    }
    let mut hidden = url.clone();
    let _ = hidden.set_password(Some("***"));
    hidden.to_string()
}

fn shown_str(url: &str) -> String {
    Url::parse(url).map_or_else(|_| url.to_string(), |u| shown(&u))
}

#[cfg(test)]
mod tests {
    use super::test_server::TestServer;
    use super::*;
    use crate::diagnose::Diagnose;

    /// Short enough for tests; a retry costs 100 ms, then 200 ms.
    fn policy() -> Policy {
        Policy {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
            retries: 2,
            concurrency: 4,
            progress: false,
        }
    }

    /// A server of `files` (path, contents), and the directory it serves.
    fn serve(files: &[(&str, &str)]) -> (tempfile::TempDir, TestServer) {
        let dir = tempfile::tempdir().unwrap();
        for (path, contents) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, contents).unwrap();
        }
        let server = TestServer::start(dir.path());
        (dir, server)
    }

    fn one(request: Request, policy: &Policy) -> Result<Fetched, FetchError> {
        let mut results = fetch_all(&[request], policy);
        assert_eq!(results.len(), 1);
        results.remove(0)
    }

    fn body(result: Result<Fetched, FetchError>) -> String {
        match result {
            Ok(Fetched::Body { bytes, .. }) => String::from_utf8(bytes).unwrap(),
            other => panic!("not a body: {other:?}"),
        }
    }

    #[test]
    fn a_file_comes_with_its_etag_and_mpms_user_agent() {
        let (_dir, server) = serve(&[("index.json", "{}\n")]);
        let got = one(Request::get(server.url("/index.json")), &policy());
        assert_eq!(
            got,
            Ok(Fetched::Body {
                bytes: b"{}\n".to_vec(),
                etag: Some(TestServer::etag(b"{}\n")),
            })
        );
        assert_eq!(
            server.header("/index.json", "user-agent").as_deref(),
            Some(concat!("mpm/", env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(server.header("/index.json", "if-none-match"), None);
    }

    #[test]
    fn a_404_is_not_tried_again_and_says_what_was_asked_and_answered() {
        let (_dir, server) = serve(&[]);
        let url = server.url("/index.json");
        let e = one(Request::get(&url), &policy()).unwrap_err();
        assert_eq!(server.hits("/index.json"), 1);
        assert_eq!(e.to_string(), format!("GET {url}: 404 Not Found"));
        assert_eq!(e.url(), url);
        assert_eq!(
            e.hint().as_deref(),
            Some("check the URL, and the registry's index that names it")
        );
    }

    #[test]
    fn no_4xx_is_tried_again() {
        let (_dir, server) = serve(&[]);
        for (path, code) in [("/a", 400), ("/b", 403), ("/c", 429)] {
            server.status(path, code);
            let e = one(Request::get(server.url(path)), &policy()).unwrap_err();
            assert!(
                matches!(e, FetchError::Status { status, attempts: 1, .. } if status == code),
                "{e:?}"
            );
            assert_eq!(server.hits(path), 1, "{path}");
        }
        let e = one(Request::get(server.url("/c")), &policy()).unwrap_err();
        assert_eq!(
            e.hint().as_deref(),
            Some(
                "the server wants fewer requests: try again later, or lower the `http.concurrency` setting (`MPM_HTTP_CONCURRENCY`)"
            )
        );
    }

    #[test]
    fn a_server_error_twice_then_the_file_is_the_file() {
        let (_dir, server) = serve(&[("agent.md", "hello")]);
        server.fail("/agent.md", 500, 2);
        let got = one(Request::get(server.url("/agent.md")), &policy());
        assert_eq!(body(got), "hello");
        assert_eq!(server.hits("/agent.md"), 3);
    }

    #[test]
    fn a_server_error_every_time_fails_after_every_retry() {
        let (_dir, server) = serve(&[("agent.md", "hello")]);
        server.status("/agent.md", 503);
        let url = server.url("/agent.md");
        let e = one(Request::get(&url), &policy()).unwrap_err();
        assert_eq!(server.hits("/agent.md"), 3);
        assert_eq!(e.to_string(), format!("GET {url}: 503 Service Unavailable"));
        assert_eq!(
            e.hint().as_deref(),
            Some(
                "the server failed 3 times; try again later, or use `--offline` with what `mpm.lock` and the cache hold"
            )
        );
        // no retries: one attempt
        let never = Policy {
            retries: 0,
            ..policy()
        };
        let e = one(Request::get(&url), &never).unwrap_err();
        assert_eq!(server.hits("/agent.md"), 4);
        assert!(e.hint().unwrap().starts_with("the server failed once;"));
    }

    #[test]
    fn a_server_that_never_answers_is_one_time_out() {
        let (_dir, server) = serve(&[]);
        server.hang("/slow.json");
        let short = Policy {
            timeout: Duration::from_millis(300),
            ..policy()
        };
        let url = server.url("/slow.json");
        let e = one(Request::get(&url), &short).unwrap_err();
        assert_eq!(
            e,
            FetchError::Timeout {
                url: url.clone(),
                phase: Phase::Answer,
                after: Duration::from_millis(300),
            }
        );
        // a time-out is not tried again: a server that never answers would cost
        // one per attempt
        assert_eq!(server.hits("/slow.json"), 1);
        assert_eq!(
            e.to_string(),
            format!("GET {url}: no complete answer within 300ms")
        );
        assert_eq!(
            e.hint().as_deref(),
            Some(
                "if the server is slow, raise the `http.timeout` setting (`MPM_HTTP_TIMEOUT=5m`), or use `--offline` with what `mpm.lock` and the cache hold"
            )
        );
    }

    #[test]
    fn a_refused_connection_is_tried_again_then_a_connect_error() {
        let (_dir, server) = serve(&[("a", "a")]);
        server.stop();
        assert!(server.is_refusing());
        let url = server.url("/a");
        let e = one(Request::get(&url), &policy()).unwrap_err();
        let FetchError::Connect {
            message, attempts, ..
        } = &e
        else {
            panic!("not a connect error: {e:?}");
        };
        assert_eq!(*attempts, 3);
        assert!(message.starts_with("Connection refused"), "{message}");
        assert_eq!(
            e.to_string(),
            format!("GET {url}: cannot connect: {message}")
        );
        assert_eq!(
            e.hint().as_deref(),
            Some(
                "mpm tried 3 times; check the URL's host and port, your network and any proxy (`HTTPS_PROXY`), or use `--offline` with what `mpm.lock` and the cache hold"
            )
        );
    }

    #[test]
    fn an_etag_the_server_still_has_is_not_modified() {
        let (dir, server) = serve(&[("index.json", "v1")]);
        let url = server.url("/index.json");
        let Ok(Fetched::Body {
            etag: Some(etag), ..
        }) = one(Request::get(&url), &policy())
        else {
            panic!("no etag");
        };
        let again = Request {
            etag: Some(etag.clone()),
            ..Request::get(&url)
        };
        assert_eq!(one(again.clone(), &policy()), Ok(Fetched::NotModified));
        assert_eq!(server.header("/index.json", "if-none-match"), Some(etag));
        // changed on the server: the body, and its new tag
        std::fs::write(dir.path().join("index.json"), "v2").unwrap();
        assert_eq!(
            one(again, &policy()),
            Ok(Fetched::Body {
                bytes: b"v2".to_vec(),
                etag: Some(TestServer::etag(b"v2")),
            })
        );
    }

    #[test]
    fn no_more_requests_than_the_concurrency_are_in_flight() {
        let (_dir, server) = serve(&[("a", "a")]);
        server.delay("/a", Duration::from_millis(10));
        let requests: Vec<Request> = (0..20).map(|_| Request::get(server.url("/a"))).collect();
        let two = Policy {
            concurrency: 2,
            ..policy()
        };
        let results = fetch_all(&requests, &two);
        assert_eq!(results.len(), 20);
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(server.hits("/a"), 20);
        assert!(
            (1..=2).contains(&server.max_in_flight()),
            "{}",
            server.max_in_flight()
        );
    }

    #[test]
    fn requests_are_made_at_once_up_to_the_concurrency() {
        let (_dir, server) = serve(&[("a", "a")]);
        // answered only once four are in flight: sequential requests would wait
        // 10 s each, and the count would say 1
        server.gate("/a", 4);
        let requests: Vec<Request> = (0..4).map(|_| Request::get(server.url("/a"))).collect();
        let results = fetch_all(&requests, &policy());
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(server.max_in_flight(), 4);
    }

    #[test]
    fn results_are_in_the_order_of_the_requests() {
        let files: Vec<(String, String)> = (0..12)
            .map(|i| (format!("f{i}"), format!("contents {i}")))
            .collect();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect();
        let (_dir, server) = serve(&refs);
        // the first ones answer last
        for i in 0..4 {
            server.delay(&format!("/f{i}"), Duration::from_millis(40 - 10 * i));
        }
        let mut requests: Vec<Request> = (0..12)
            .map(|i| Request::get(server.url(&format!("/f{i}"))))
            .collect();
        requests.insert(5, Request::get(server.url("/missing")));
        let results = fetch_all(&requests, &policy());
        assert_eq!(results.len(), 13);
        for (i, result) in results.into_iter().enumerate() {
            match i {
                5 => assert!(matches!(
                    result,
                    Err(FetchError::Status { status: 404, .. })
                )),
                i => {
                    let n = if i < 5 { i } else { i - 1 };
                    assert_eq!(body(result), format!("contents {n}"));
                }
            }
        }
    }

    #[test]
    fn a_body_longer_than_allowed_is_refused() {
        let (_dir, server) = serve(&[("big", &"x".repeat(100))]);
        let url = server.url("/big");
        let limited = |max| Request {
            max_bytes: Some(max),
            ..Request::get(&url)
        };
        let e = one(limited(99), &policy()).unwrap_err();
        assert_eq!(
            e,
            FetchError::TooLarge {
                url: url.clone(),
                limit: 99,
                size: Some(100)
            }
        );
        assert_eq!(
            e.to_string(),
            format!("GET {url}: the body is 100 bytes, more than the 99 allowed")
        );
        assert_eq!(server.hits("/big"), 1);
        assert_eq!(body(one(limited(100), &policy())).len(), 100);
    }

    #[test]
    fn a_body_cut_short_is_tried_again() {
        let (_dir, server) = serve(&[("agent.md", "a whole agent")]);
        server.cut("/agent.md", 1);
        assert_eq!(
            body(one(Request::get(server.url("/agent.md")), &policy())),
            "a whole agent"
        );
        assert_eq!(server.hits("/agent.md"), 2);
        server.cut("/agent.md", 10);
        let e = one(Request::get(server.url("/agent.md")), &policy()).unwrap_err();
        assert!(matches!(e, FetchError::Broken { attempts: 3, .. }), "{e:?}");
        assert!(
            e.hint()
                .unwrap()
                .starts_with("the connection broke 3 times;")
        );
    }

    #[test]
    fn redirects_are_followed_but_not_in_circles() {
        let (_dir, server) = serve(&[("new.json", "moved")]);
        server.redirect("/old.json", "/new.json");
        assert_eq!(
            body(one(Request::get(server.url("/old.json")), &policy())),
            "moved"
        );
        server.redirect("/loop", "/loop");
        let url = server.url("/loop");
        let e = one(Request::get(&url), &policy()).unwrap_err();
        assert_eq!(e.to_string(), format!("GET {url}: more than 10 redirects"));
        assert_eq!(server.hits("/loop"), REDIRECTS + 1);
    }

    #[test]
    fn a_redirect_from_https_to_http_is_refused() {
        let url = |s: &str| Url::parse(s).unwrap();
        let https = [url("https://r.example/index.json")];
        assert_eq!(
            refused_redirect(&https, &url("http://r.example/index.json")),
            Some(RedirectRefused::Downgrade(
                "http://r.example/index.json".into()
            ))
        );
        assert_eq!(
            refused_redirect(&https, &url("https://cdn.example/i")),
            None
        );
        assert_eq!(
            refused_redirect(&[url("http://r.example/")], &url("https://r.example/")),
            None
        );
        let many = vec![url("http://r.example/"); REDIRECTS + 1];
        assert_eq!(
            refused_redirect(&many, &url("http://r.example/")),
            Some(RedirectRefused::TooMany(REDIRECTS))
        );
    }

    #[test]
    fn only_http_and_https_urls_are_fetched() {
        let results = fetch_all(
            &[
                Request::get("ftp://r.example/index.json"),
                Request::get("index.json"),
            ],
            &policy(),
        );
        let texts: Vec<String> = results
            .iter()
            .map(|r| r.as_ref().unwrap_err().to_string())
            .collect();
        assert_eq!(
            texts,
            [
                "`ftp://r.example/index.json`: mpm fetches only `http` and `https` URLs",
                "`index.json`: not a URL (relative URL without a base)",
            ]
        );
        assert_eq!(
            results[0].as_ref().unwrap_err().hint().as_deref(),
            Some("mpm fetches `https://` URLs (and `http://`); check the URL")
        );
        assert!(fetch_all(&[], &policy()).is_empty());
    }

    #[test]
    fn a_password_in_a_url_is_never_shown() {
        let url = Url::parse("https://me:s3cret@r.example/index.json").unwrap();
        assert_eq!(shown(&url), "https://me:***@r.example/index.json");
        assert_eq!(shown_str("https://r.example/a"), "https://r.example/a");
        let e = FetchError::Status {
            url: shown(&url),
            status: 404,
            reason: "Not Found".into(),
            attempts: 1,
        };
        assert!(!e.to_string().contains("s3cret"));
    }

    #[test]
    fn a_tls_error_is_found_inside_the_io_error_that_carries_it() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::General("bad certificate".into()),
        );
        assert_eq!(
            find::<rustls::Error>(&io),
            Some(&rustls::Error::General("bad certificate".into()))
        );
        assert_eq!(find::<RedirectRefused>(&io), None);
    }

    #[test]
    fn pauses_double_from_100ms_up_to_10s() {
        let ms: Vec<u128> = (1..=9).map(|n| pause(n).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
        assert_eq!(pause(u32::MAX), LONGEST_PAUSE);
    }

    #[test]
    fn the_policy_is_the_http_settings() {
        use crate::config::{Layers, variables};
        let defaults = Settings::resolve(&Layers::default()).unwrap();
        assert_eq!(Policy::from_settings(&defaults), Policy::default());
        let layers = Layers {
            env: variables(|name| match name {
                "MPM_HTTP_TIMEOUT" => Some("300ms".into()),
                "MPM_HTTP_CONNECT_TIMEOUT" => Some("2".into()),
                "MPM_HTTP_RETRIES" => Some("0".into()),
                "MPM_HTTP_CONCURRENCY" => Some("1".into()),
                _ => None,
            }),
            ..Layers::default()
        };
        let policy = Policy::from_settings(&Settings::resolve(&layers).unwrap());
        assert_eq!(
            policy,
            Policy {
                connect_timeout: Duration::from_secs(2),
                timeout: Duration::from_millis(300),
                retries: 0,
                concurrency: 1,
                progress: false,
            }
        );
    }

    #[test]
    fn a_progress_bar_only_when_asked_and_for_enough_requests() {
        assert!(progress_bar(PROGRESS_FROM - 1, true).is_hidden());
        assert!(progress_bar(100, false).is_hidden());
        // asked for: drawn on a terminal only (never in a test's captured stderr),
        // and the fetch is the same
        let (_dir, server) = serve(&[("a", "a")]);
        let requests: Vec<Request> = (0..PROGRESS_FROM)
            .map(|_| Request::get(server.url("/a")))
            .collect();
        let shown = Policy {
            progress: true,
            ..policy()
        };
        assert!(fetch_all(&requests, &shown).iter().all(Result::is_ok));
    }

    #[test]
    fn every_error_names_its_url_and_says_what_to_do() {
        let url = "https://r.example/i.json".to_string();
        let cases = [
            (
                FetchError::Timeout {
                    url: url.clone(),
                    phase: Phase::Connect,
                    after: Duration::from_secs(10),
                },
                "GET https://r.example/i.json: no connection within 10s",
                "check the host and your network; if the network is slow, raise the `http.connect_timeout` setting (`MPM_HTTP_CONNECT_TIMEOUT=30s`)",
            ),
            (
                FetchError::Tls {
                    url: url.clone(),
                    message: "invalid peer certificate: UnknownIssuer".into(),
                },
                "GET https://r.example/i.json: TLS failed: invalid peer certificate: UnknownIssuer",
                "check the URL (is it `https://` to a server that speaks TLS?); a certificate is checked against the system's store: on a system with no CA certificates, install them, or point `SSL_CERT_FILE` at a bundle",
            ),
            (
                FetchError::Redirect {
                    url: url.clone(),
                    refused: RedirectRefused::Downgrade("http://r.example/i.json".into()),
                },
                "GET https://r.example/i.json: redirected from `https` to `http://r.example/i.json`, which mpm does not follow",
                "a file asked for over `https` is not fetched over plain `http`: check the URL, or write the `http://` URL if that is what you mean",
            ),
            (
                FetchError::TooLarge {
                    url: url.clone(),
                    limit: 10,
                    size: None,
                },
                "GET https://r.example/i.json: the body is more than the 10 bytes allowed",
                "check that the URL names the file it should",
            ),
        ];
        for (e, text, hint) in cases {
            assert_eq!(e.to_string(), text);
            assert_eq!(e.url(), url);
            assert_eq!(e.hint().as_deref(), Some(hint), "{text}");
        }
    }
}
