//! A real HTTP/1.1 server for tests, on 127.0.0.1: it serves the files of a
//! directory (a strong `ETag` on each, `304 Not Modified` to a matching
//! `If-None-Match`) and lets a test script what a path does instead (fail a few
//! times, answer a status forever, hang, answer late, redirect, cut its body
//! short), and records what it saw (hits and the last request's headers per path,
//! the most requests it held at once).
//!
//! std only, with nothing from the crate, so that the unit tests of `fetch` and the
//! integration tests share it: `#[path = "../src/fetch/test_server.rs"] mod server;`.
//! A thread per connection; keep-alive unless the client asks to close. Paths are
//! keyed as requested, without the query (`/index.json`).

#![allow(
    dead_code,
    reason = "each test binary that includes this uses only some of it"
)]

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// How long a gated request waits for the others before it is answered anyway,
/// so that a test of a broken client fails instead of hanging.
const GATE_GIVES_UP: Duration = Duration::from_secs(10);
/// How long an idle keep-alive connection is kept.
const IDLE: Duration = Duration::from_secs(30);

/// The server; stopped when dropped.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Mutex<Option<thread::JoinHandle<()>>>,
}

struct Shared {
    root: PathBuf,
    state: Mutex<State>,
    /// Signalled on every change of `state` that a waiting request may care about.
    changed: Condvar,
}

#[derive(Default)]
struct State {
    stopped: bool,
    scripts: HashMap<String, Script>,
    hits: HashMap<String, usize>,
    headers: HashMap<String, Vec<(String, String)>>,
    in_flight: usize,
    max_in_flight: usize,
    /// The paths whose gate opened: it stays open, so that a request woken by it
    /// is answered even if another, answered first, has left the count.
    opened: std::collections::HashSet<String>,
    /// Every connection's stream, to close them all on [`TestServer::stop`].
    connections: Vec<TcpStream>,
}

/// What a path does instead of serving its file (the first that applies, in the
/// order of the fields).
#[derive(Default, Clone)]
struct Script {
    /// Accept the request, never answer.
    hang: bool,
    /// Wait this long before answering.
    delay: Option<Duration>,
    /// Answer only once this many requests are in flight on the server.
    gate: Option<usize>,
    /// Answer this status this many more times.
    fail: Option<(u16, usize)>,
    /// Answer this status forever.
    status: Option<u16>,
    /// Answer `302 Found` with this `Location`.
    redirect: Option<String>,
    /// Send half the body, then close the connection, this many more times.
    cut: usize,
}

/// One request as read.
struct Incoming {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Incoming {
    fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }
}

fn header_in<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl TestServer {
    /// Serves `root` on a free port of 127.0.0.1.
    pub fn start(root: impl Into<PathBuf>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("the listener's address");
        let shared = Arc::new(Shared {
            root: root.into(),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let accepting = Arc::clone(&shared);
        let acceptor = thread::spawn(move || accept(&listener, &accepting));
        TestServer {
            addr,
            shared,
            acceptor: Mutex::new(Some(acceptor)),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `path` answers `status` its next `times` requests, then serves its file.
    pub fn fail(&self, path: &str, status: u16, times: usize) {
        self.script(path, |s| s.fail = Some((status, times)));
    }

    /// `path` answers `code` to every request.
    pub fn status(&self, path: &str, code: u16) {
        self.script(path, |s| s.status = Some(code));
    }

    /// `path` accepts each request and never answers (until the server stops).
    pub fn hang(&self, path: &str) {
        self.script(path, |s| s.hang = true);
    }

    /// `path` answers each request after `delay`.
    pub fn delay(&self, path: &str, delay: Duration) {
        self.script(path, |s| s.delay = Some(delay));
    }

    /// Requests for `path` are answered only once `in_flight` requests are being
    /// handled by the server at once (any paths), and from then on at once: a
    /// client that makes that many at a time is answered, one that makes fewer
    /// waits 10 s per request. It shows concurrency without timing anything.
    pub fn gate(&self, path: &str, in_flight: usize) {
        self.script(path, |s| s.gate = Some(in_flight));
    }

    /// `path` answers `302 Found` with `Location: location`.
    pub fn redirect(&self, path: &str, location: &str) {
        self.script(path, |s| s.redirect = Some(location.to_string()));
    }

    /// `path` sends its headers and half its body, then closes the connection,
    /// its next `times` requests.
    pub fn cut(&self, path: &str, times: usize) {
        self.script(path, |s| s.cut = times);
    }

    /// `path` serves its file again.
    pub fn reset(&self, path: &str) {
        let mut state = self.lock();
        state.scripts.remove(path);
        state.opened.remove(path);
    }

    /// How many requests for `path` arrived.
    pub fn hits(&self, path: &str) -> usize {
        self.lock().hits.get(path).copied().unwrap_or(0)
    }

    /// The headers of the last request for `path`, as sent.
    pub fn headers(&self, path: &str) -> Vec<(String, String)> {
        self.lock().headers.get(path).cloned().unwrap_or_default()
    }

    /// One header of the last request for `path` (the name in any case).
    pub fn header(&self, path: &str, name: &str) -> Option<String> {
        header_in(&self.headers(path), name).map(str::to_string)
    }

    /// The most requests the server handled at once.
    pub fn max_in_flight(&self) -> usize {
        self.lock().max_in_flight
    }

    /// The `ETag` the server sends for a file holding `contents`.
    pub fn etag(contents: &[u8]) -> String {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        contents.hash(&mut hasher);
        format!("\"{:x}-{:016x}\"", contents.len(), hasher.finish())
    }

    /// Closes the listener and every connection, and releases hanging requests;
    /// from its return on, a connection to the port is refused
    /// ([`TestServer::is_refusing`]).
    pub fn stop(&self) {
        let connections = {
            let mut state = self.lock();
            state.stopped = true;
            std::mem::take(&mut state.connections)
        };
        self.shared.changed.notify_all();
        for c in connections {
            let _ = c.shutdown(Shutdown::Both);
        }
        let acceptor = self
            .acceptor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(acceptor) = acceptor {
            // wakes the acceptor, which sees `stopped` and drops the listener
            let _ = TcpStream::connect(self.addr);
            let _ = acceptor.join();
        }
    }

    /// Whether a connection to the server's port is refused now.
    pub fn is_refusing(&self) -> bool {
        matches!(
            TcpStream::connect_timeout(&self.addr, Duration::from_secs(5)),
            Err(e) if e.kind() == ErrorKind::ConnectionRefused
        )
    }

    fn script(&self, path: &str, change: impl FnOnce(&mut Script)) {
        change(self.lock().scripts.entry(path.to_string()).or_default());
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // a test that panicked while holding it must not hide its own failure
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn accept(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        let mut state = shared.lock();
        if state.stopped {
            return;
        }
        let Ok(stream) = stream else { continue };
        if let Ok(clone) = stream.try_clone() {
            state.connections.push(clone);
        }
        drop(state);
        let shared = Arc::clone(shared);
        thread::spawn(move || serve(&shared, stream));
    }
}

/// Answers the requests of one connection until either side closes it.
fn serve(shared: &Shared, stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(IDLE));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    while let Some(request) = read_request(&mut reader) {
        if !answer(shared, &request, &mut writer) {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

/// The request line and headers; a body (there should be none) is read and dropped.
fn read_request(reader: &mut impl BufRead) -> Option<Incoming> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut words = line.split_whitespace();
    let method = words.next()?.to_string();
    let target = words.next()?;
    let path = target.split('?').next().unwrap_or(target).to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length: u64 = header_in(&headers, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    std::io::copy(&mut reader.take(length), &mut std::io::sink()).ok()?;
    Some(Incoming {
        method,
        path,
        headers,
    })
}

/// Counts a request in flight while it lives.
struct InFlight<'a>(&'a Shared);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.lock().in_flight -= 1;
        self.0.changed.notify_all();
    }
}

/// What a request is answered.
enum Reply {
    Whole {
        code: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// All the headers, half the body, then the connection is closed.
    Cut { etag: String, contents: Vec<u8> },
}

/// Answers one request; whether the connection stays open.
fn answer(shared: &Shared, request: &Incoming, out: &mut TcpStream) -> bool {
    let script = {
        let mut state = shared.lock();
        if state.stopped {
            return false;
        }
        *state.hits.entry(request.path.clone()).or_default() += 1;
        state
            .headers
            .insert(request.path.clone(), request.headers.clone());
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        let script = state
            .scripts
            .get(&request.path)
            .cloned()
            .unwrap_or_default();
        // the scripts that count down, counted now, so that two requests at once
        // see one failure each
        if let Some(s) = state.scripts.get_mut(&request.path) {
            match &mut s.fail {
                Some((_, times)) if *times > 0 => *times -= 1,
                _ => s.cut = s.cut.saturating_sub(1),
            }
        }
        script
    };
    shared.changed.notify_all();
    let reply = {
        // in flight until its answer is decided, not until it is sent: the client
        // may see the answer and send its next request before the write returns,
        // which must not count as one more at once
        let _counted = InFlight(shared);
        if script.hang {
            wait_while(shared, None, |_| true);
            return false;
        }
        if let Some(delay) = script.delay {
            wait_while(shared, Some(delay), |_| true);
        }
        if let Some(n) = script.gate {
            wait_while(shared, Some(GATE_GIVES_UP), |state| {
                if state.in_flight >= n {
                    state.opened.insert(request.path.clone());
                }
                !state.opened.contains(&request.path)
            });
        }
        if shared.lock().stopped {
            return false;
        }
        decide(&shared.root, request, &script)
    };
    let keep = !request
        .header("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    match reply {
        Reply::Whole {
            code,
            headers,
            body,
        } => {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            respond(out, code, &headers, &body, request.method == "HEAD") && keep
        }
        Reply::Cut { etag, contents } => {
            let head = head_of(200, &[("ETag", &etag)], contents.len());
            let _ = out.write_all(head.as_bytes());
            let _ = out.write_all(&contents[..contents.len() / 2]);
            let _ = out.flush();
            false
        }
    }
}

fn decide(root: &Path, request: &Incoming, script: &Script) -> Reply {
    let status = |code| Reply::Whole {
        code,
        headers: Vec::new(),
        body: format!("{code} {}\n", reason(code)).into_bytes(),
    };
    if let Some((code, times)) = script.fail
        && times > 0
    {
        return status(code);
    }
    if let Some(code) = script.status {
        return status(code);
    }
    if let Some(location) = &script.redirect {
        return Reply::Whole {
            code: 302,
            headers: vec![("Location", location.clone())],
            body: Vec::new(),
        };
    }
    let Some(contents) = file(root, &request.path) else {
        return status(404);
    };
    let etag = TestServer::etag(&contents);
    if request
        .header("if-none-match")
        .is_some_and(|tags| matches_etag(tags, &etag))
    {
        return Reply::Whole {
            code: 304,
            headers: vec![("ETag", etag)],
            body: Vec::new(),
        };
    }
    if script.cut > 0 {
        return Reply::Cut { etag, contents };
    }
    Reply::Whole {
        code: 200,
        headers: vec![("ETag", etag)],
        body: contents,
    }
}

/// Waits until `waiting` is false of the state, the server stops, or `limit`
/// (when given) passes.
fn wait_while(
    shared: &Shared,
    limit: Option<Duration>,
    mut waiting: impl FnMut(&mut State) -> bool,
) {
    let start = Instant::now();
    let mut state = shared.lock();
    while !state.stopped && waiting(&mut state) {
        let left = match limit {
            Some(limit) => match limit.checked_sub(start.elapsed()) {
                Some(left) if !left.is_zero() => left,
                _ => return,
            },
            None => Duration::from_secs(3600),
        };
        state = shared
            .changed
            .wait_timeout(state, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// A file under `root`, for a path with no `..` in it.
fn file(root: &Path, path: &str) -> Option<Vec<u8>> {
    let relative = Path::new(path.trim_start_matches('/'));
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let full = root.join(relative);
    if !full.is_file() {
        return None;
    }
    std::fs::read(full).ok()
}

/// `If-None-Match` against a strong tag: a list of tags, or `*`; `W/` is ignored
/// (the comparison for this header is the weak one).
fn matches_etag(list: &str, etag: &str) -> bool {
    list.split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

fn head_of(code: u16, headers: &[(&str, &str)], length: usize) -> String {
    let mut head = format!("HTTP/1.1 {code} {}\r\n", reason(code));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if code != 304 {
        head.push_str(&format!("Content-Length: {length}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// Writes a whole response; whether it was written.
/// (A `HEAD` is told the body's length, and not sent it.)
fn respond(
    out: &mut TcpStream,
    code: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    head: bool,
) -> bool {
    let mut bytes = head_of(code, headers, body.len()).into_bytes();
    if !head {
        bytes.extend_from_slice(body);
    }
    out.write_all(&bytes).and_then(|()| out.flush()).is_ok()
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Whatever",
    }
}
