//! The Redis backend: the job store shared by worker processes on several machines.
//!
//! Owns the key layout in Redis, server-side atomic transactions, ordered scans, ids,
//! the event channel between processes (pub/sub), and reconnection after a lost
//! connection. Like every backend it stores bytes and knows no job semantics.
//!
//! # Layout
//! Everything lives under a namespace (`video2doc` unless configured), so several
//! queues (or test runs) share one server without colliding:
//! - `<ns>:<space>:<key bytes>`: one string per stored value (a job record, an index
//!   entry, a setting). One Redis key per value, so a transaction watches exactly the
//!   values it read.
//! - `<ns>:<space>#keys`: a sorted set of every key of the space, all with score 0, so
//!   `ZRANGEBYLEX` returns them in byte order (Redis compares members with `memcmp`):
//!   the ordered scans the queue's indexes need (ready order, due times, states).
//! - `<ns>:ids`: the id counter (`INCR`); `<ns>:events`: the pub/sub channel.
//! - `<ns>:quarantine:<space>/<key>`: values that did not decode, set aside unchanged.
//!
//! # One clock
//! Lease deadlines are compared by every worker, so they are measured with the server's
//! clock (`TIME`, [`SharedStore::server_time`]), never a worker's own.
//!
//! # Transactions: WATCH + MULTI/EXEC, retried on conflict
//! The queue's transactions are Rust closures ([`crate::transition`]) whose reads depend
//! on earlier reads (a job, then the jobs it depends on, then theirs). A Lua script
//! would have to re-implement the state machine in Lua, a second copy of the rules that
//! the conformance suite could not keep in step; so this backend runs the closure here
//! and makes it atomic on the server with optimistic concurrency, as sled does locally:
//! every key the closure reads is `WATCH`ed before it is read (one round trip per key,
//! cached for the rest of the attempt), writes are buffered (reads see them), and at the
//! end they go out as one `MULTI`/`EXEC` with the sorted-set updates. `EXEC` applies
//! nothing if any watched key changed since it was read; the closure then runs again
//! from the start against fresh values. So transactions are serializable on the server:
//! two workers claiming the same ready job cannot both succeed, the loser re-reads the
//! job (now running) and moves to the next. Sorted sets are written but never watched:
//! transactions do not scan. A refused closure writes nothing (`UNWATCH`).
//!
//! # Durability
//! An acknowledgement is the `EXEC` reply. With `appendonly yes` and
//! `appendfsync always` Redis replies after the write is on disk, so [`Store::flush`]
//! has nothing left to do; with other settings Redis may lose the last second of
//! acknowledged writes on a crash, and opening the store logs a warning saying so.
//!
//! # Lost connections
//! A connection that fails is dropped (never reused) and a fresh one is made. Failures
//! before `EXEC` is sent are retried with backoff for [`RedisConfig::retry_for`], then
//! reported as [`StoreError::Unreachable`]. A connection lost while `EXEC` was in
//! flight leaves the outcome unknown: that is reported at once (never retried here), and
//! the runtime's own retry re-runs the transition, whose lease check then refuses to
//! record anything twice. Opening waits at most [`RedisConfig::open_within`], so that
//! a server that is not there is a clear error at start.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::{Client, Connection, ConnectionAddr, ErrorKind, RedisError, ServerErrorKind, Value};

use super::{Entry, RawTxn, SharedStore, Space, Store, StoreError, TxError, SCHEMA_VERSION};
use crate::job::Millis;

const SCHEMA_KEY: &[u8] = b"schema_version";
/// Conflicting attempts after which a transaction gives up.
const MAX_CONFLICTS: u32 = 10_000;

/// Where the Redis store is and how it behaves when the server is away.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://[:password@]host:port/db` or `rediss://…` (TLS).
    pub url: String,
    /// Prefix of every key; queues with different namespaces share nothing.
    pub namespace: String,
    /// How long an operation keeps retrying an unreachable server before it fails.
    pub retry_for: Duration,
    /// How long opening waits for an unreachable server (a clear error at start).
    pub open_within: Duration,
    /// For `rediss://`: a PEM file of the certificate authority that signed the server's
    /// certificate, instead of the system's trusted roots (a lab's private CA).
    pub ca_file: Option<std::path::PathBuf>,
    /// Connect, read and write timeout of one connection.
    pub io_timeout: Duration,
}

impl RedisConfig {
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            url: url.into(),
            namespace: "video2doc".to_string(),
            retry_for: Duration::from_secs(10),
            open_within: Duration::from_secs(10),
            ca_file: None,
            io_timeout: Duration::from_secs(10),
        }
    }

    pub fn namespace(mut self, ns: impl Into<String>) -> RedisConfig {
        self.namespace = ns.into();
        self
    }

    pub fn retry_for(mut self, d: Duration) -> RedisConfig {
        self.retry_for = d;
        self
    }

    pub fn open_within(mut self, d: Duration) -> RedisConfig {
        self.open_within = d;
        self
    }

    pub fn ca_file(mut self, pem: impl Into<std::path::PathBuf>) -> RedisConfig {
        self.ca_file = Some(pem.into());
        self
    }
}

/// The Redis backend. Cheap to share; holds a small pool of connections.
pub struct RedisStore {
    client: Client,
    /// The URL without its password, for messages.
    url: String,
    config: RedisConfig,
    pool: Mutex<Vec<Connection>>,
}

/// Whether an error means the server could not be reached (try again later).
fn is_unreachable(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_timeout()
        || matches!(
            e.kind(),
            ErrorKind::Server(ServerErrorKind::BusyLoading)
                | ErrorKind::Server(ServerErrorKind::TryAgain)
        )
}

/// `redis://host:port/db` of a client, never its password.
fn display_url(client: &Client) -> String {
    let info = client.get_connection_info();
    let db = info.redis_settings().db();
    match info.addr() {
        ConnectionAddr::TcpTls { .. } => format!("rediss://{}/{db}", info.addr()),
        other => format!("redis://{other}/{db}"),
    }
}

/// The URL as given with any password replaced, for errors about a URL that did not parse.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_string(),
    }
}

impl RedisStore {
    /// Connects to the server, fails with [`StoreError::Unreachable`] naming the URL if it
    /// cannot be reached within the retry time, and with [`StoreError::NewerSchema`] if
    /// a newer Video2Doc wrote this namespace.
    pub fn open(config: RedisConfig) -> Result<RedisStore, StoreError> {
        if config.url.starts_with("rediss://") {
            // The ring provider, whatever else the process has linked in.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let bad_url = |source| StoreError::Redis {
            url: redact(&config.url),
            source,
        };
        let client = match &config.ca_file {
            None => Client::open(config.url.as_str()).map_err(bad_url)?,
            Some(ca) => {
                let root = std::fs::read(ca).map_err(|source| StoreError::Io {
                    path: ca.clone(),
                    source,
                })?;
                Client::build_with_tls(
                    config.url.as_str(),
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(root),
                    },
                )
                .map_err(bad_url)?
            }
        };
        let store = RedisStore {
            url: display_url(&client),
            client,
            config,
            pool: Mutex::new(Vec::new()),
        };
        let _span = tracing::info_span!("redis_open", url = %store.url, namespace = %store.config.namespace).entered();
        store.check_schema()?;
        store.check_durability();
        Ok(store)
    }

    /// The namespace this store's keys live under.
    pub fn namespace(&self) -> &str {
        &self.config.namespace
    }

    /// Writes a schema version (for tests of the newer-version check).
    pub fn force_schema_version(&self, v: u32) -> Result<(), StoreError> {
        let key = self.value_key(Space::Meta, SCHEMA_KEY);
        self.with_conn("writing the schema version", |c| {
            redis::cmd("SET")
                .arg(&key)
                .arg(&v.to_be_bytes()[..])
                .query::<()>(c)
        })
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let key = self.value_key(Space::Meta, SCHEMA_KEY);
        let index = self.index_key(Space::Meta);
        let found: Option<Vec<u8>> =
            self.with_conn_within(self.config.open_within, "connecting", |c| {
                let set: bool = redis::cmd("SET")
                    .arg(&key)
                    .arg(&SCHEMA_VERSION.to_be_bytes()[..])
                    .arg("NX")
                    .query::<Option<String>>(c)?
                    .is_some();
                if set {
                    redis::cmd("ZADD")
                        .arg(&index)
                        .arg(0)
                        .arg(SCHEMA_KEY)
                        .query::<()>(c)?;
                    return Ok(None);
                }
                redis::cmd("GET").arg(&key).query(c)
            })?;
        if let Some(v) = found {
            let found = u32::from_be_bytes(v.as_slice().try_into().unwrap_or([0xff; 4]));
            if found > SCHEMA_VERSION {
                return Err(StoreError::NewerSchema {
                    path: format!("{} (namespace {})", self.url, self.config.namespace).into(),
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
        }
        Ok(())
    }

    /// Warns when the server may lose acknowledged writes on a crash.
    fn check_durability(&self) {
        let r = self.with_conn("reading the server's persistence settings", |c| {
            let aof: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("appendonly").query(c)?;
            let fsync: Vec<String> = redis::cmd("CONFIG")
                .arg("GET")
                .arg("appendfsync")
                .query(c)?;
            Ok((aof.get(1).cloned(), fsync.get(1).cloned()))
        });
        match r {
            Ok((Some(aof), Some(fsync))) if aof == "yes" && fsync == "always" => {}
            Ok((aof, fsync)) => tracing::warn!(
                url = %self.url,
                appendonly = aof.as_deref().unwrap_or("?"),
                appendfsync = fsync.as_deref().unwrap_or("?"),
                "this Redis server acknowledges writes before they are on disk; a crash of the server can lose acknowledged jobs (use appendonly yes, appendfsync always)"
            ),
            Err(e) => {
                tracing::debug!(error = %e, "the server's persistence settings could not be read")
            }
        }
    }

    fn value_key(&self, space: Space, key: &[u8]) -> Vec<u8> {
        let mut k = format!("{}:{}:", self.config.namespace, space.name()).into_bytes();
        k.extend_from_slice(key);
        k
    }

    fn index_key(&self, space: Space) -> String {
        format!("{}:{}#keys", self.config.namespace, space.name())
    }

    fn channel(&self) -> String {
        format!("{}:events", self.config.namespace)
    }

    fn connect(&self) -> Result<Connection, RedisError> {
        let c = self
            .client
            .get_connection_with_timeout(self.config.io_timeout)?;
        c.set_read_timeout(Some(self.config.io_timeout))?;
        c.set_write_timeout(Some(self.config.io_timeout))?;
        Ok(c)
    }

    fn take_conn(&self) -> Result<Connection, RedisError> {
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(c) => Ok(c),
            None => self.connect(),
        }
    }

    fn give_back(&self, c: Connection) {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < 16 {
            pool.push(c);
        }
    }

    /// Forgets pooled connections: after one failed, the others most likely did too.
    fn drop_pool(&self) {
        self.pool.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn fail(&self, what: &'static str, source: RedisError) -> StoreError {
        if is_unreachable(&source) {
            StoreError::Unreachable {
                url: self.url.clone(),
                what,
                source,
            }
        } else {
            StoreError::Redis {
                url: self.url.clone(),
                source,
            }
        }
    }

    /// Runs `f` on a pooled connection, retrying on a fresh one with backoff while the
    /// server is unreachable, for at most `retry_for`.
    fn with_conn<T>(
        &self,
        what: &'static str,
        f: impl FnMut(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, StoreError> {
        self.with_conn_within(self.config.retry_for, what, f)
    }

    fn with_conn_within<T>(
        &self,
        window: Duration,
        what: &'static str,
        mut f: impl FnMut(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            let r = self.take_conn().and_then(|mut c| {
                let out = f(&mut c)?;
                self.give_back(c);
                Ok(out)
            });
            match r {
                Ok(v) => return Ok(v),
                Err(e) if is_unreachable(&e) && started.elapsed() < window => {
                    self.drop_pool();
                    tracing::debug!(error = %e, what, "Redis unreachable; retrying");
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(self.fail(what, e)),
            }
        }
    }

    /// One attempt of a transaction on `conn`.
    fn attempt(
        &self,
        conn: &mut Connection,
        f: &dyn Fn(&dyn RawTxn) -> Result<(), TxError>,
    ) -> Result<Attempt, RedisError> {
        let txn = RedisTxn {
            store: self,
            conn: RefCell::new(conn),
            reads: RefCell::new(HashMap::new()),
            writes: RefCell::new(BTreeMap::new()),
            failure: RefCell::new(None),
        };
        let r = f(&txn);
        let RedisTxn {
            conn,
            writes,
            failure,
            ..
        } = txn;
        let conn = conn.into_inner();
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        let writes = writes.into_inner();
        match r {
            Err(e) => {
                redis::cmd("UNWATCH").query::<()>(conn)?;
                Ok(Attempt::Refused(e))
            }
            Ok(()) if writes.is_empty() => {
                redis::cmd("UNWATCH").query::<()>(conn)?;
                Ok(Attempt::Committed)
            }
            Ok(()) => {
                let mut pipe = redis::pipe();
                pipe.atomic();
                for ((pos, key), value) in &writes {
                    let space = Space::ALL[*pos];
                    let vkey = self.value_key(space, key);
                    let ikey = self.index_key(space);
                    match value {
                        Some(v) => {
                            pipe.cmd("SET").arg(vkey).arg(v.as_slice());
                            pipe.cmd("ZADD").arg(ikey).arg(0).arg(key.as_slice());
                        }
                        None => {
                            pipe.cmd("DEL").arg(vkey);
                            pipe.cmd("ZREM").arg(ikey).arg(key.as_slice());
                        }
                    }
                }
                match pipe.query::<Option<Vec<Value>>>(conn) {
                    Ok(Some(_)) => Ok(Attempt::Committed),
                    Ok(None) => Ok(Attempt::Conflict),
                    Err(e) if is_unreachable(&e) => Ok(Attempt::Unknown(e)),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

/// How one attempt of a transaction ended.
enum Attempt {
    Committed,
    /// A watched key changed: run the closure again.
    Conflict,
    /// The closure refused; nothing was written.
    Refused(TxError),
    /// The connection failed while `EXEC` was in flight.
    Unknown(RedisError),
}

type SpaceKey = (usize, Vec<u8>);

struct RedisTxn<'a> {
    store: &'a RedisStore,
    conn: RefCell<&'a mut Connection>,
    /// Values read (and watched) in this attempt.
    reads: RefCell<HashMap<SpaceKey, Option<Vec<u8>>>>,
    /// Pending writes; `None` is a removal.
    writes: RefCell<BTreeMap<SpaceKey, Option<Vec<u8>>>>,
    failure: RefCell<Option<RedisError>>,
}

impl RawTxn for RedisTxn<'_> {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        let sk = (space.position(), key.to_vec());
        if let Some(w) = self.writes.borrow().get(&sk) {
            return Ok(w.clone());
        }
        if let Some(r) = self.reads.borrow().get(&sk) {
            return Ok(r.clone());
        }
        let vkey = self.store.value_key(space, key);
        let r: Result<((), Option<Vec<u8>>), RedisError> = redis::pipe()
            .cmd("WATCH")
            .arg(&vkey)
            .cmd("GET")
            .arg(&vkey)
            .query(&mut **self.conn.borrow_mut());
        match r {
            Ok(((), v)) => {
                self.reads.borrow_mut().insert(sk, v.clone());
                Ok(v)
            }
            Err(e) => {
                *self.failure.borrow_mut() = Some(e);
                Err(TxError::Backend)
            }
        }
    }

    fn insert(&self, space: Space, key: &[u8], value: &[u8]) -> Result<(), TxError> {
        self.writes
            .borrow_mut()
            .insert((space.position(), key.to_vec()), Some(value.to_vec()));
        Ok(())
    }

    fn remove(&self, space: Space, key: &[u8]) -> Result<(), TxError> {
        self.writes
            .borrow_mut()
            .insert((space.position(), key.to_vec()), None);
        Ok(())
    }
}

impl Store for RedisStore {
    fn run(&self, f: &dyn Fn(&dyn RawTxn) -> Result<(), TxError>) -> Result<(), StoreError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(50);
        let mut conflicts = 0u32;
        loop {
            let mut conn = match self.take_conn() {
                Ok(c) => c,
                Err(e) if is_unreachable(&e) && started.elapsed() < self.config.retry_for => {
                    tracing::debug!(error = %e, "Redis unreachable; retrying the transaction");
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                    continue;
                }
                Err(e) => return Err(self.fail("connecting", e)),
            };
            match self.attempt(&mut conn, f) {
                Ok(Attempt::Committed) => {
                    self.give_back(conn);
                    return Ok(());
                }
                Ok(Attempt::Conflict) => {
                    self.give_back(conn);
                    conflicts += 1;
                    if conflicts >= MAX_CONFLICTS {
                        return Err(StoreError::Contention {
                            store: self.describe(),
                            attempts: conflicts,
                        });
                    }
                    if conflicts > 3 {
                        let us = rand::random_range(0..(100 * conflicts.min(50) as u64));
                        std::thread::sleep(Duration::from_micros(us));
                    }
                }
                Ok(Attempt::Refused(e)) => {
                    self.give_back(conn);
                    return Err(e.into_store_error());
                }
                Ok(Attempt::Unknown(e)) => {
                    self.drop_pool();
                    return Err(self.fail("committing (the outcome is unknown)", e));
                }
                Err(e) if is_unreachable(&e) && started.elapsed() < self.config.retry_for => {
                    self.drop_pool();
                    tracing::debug!(error = %e, "Redis connection lost; retrying the transaction");
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(self.fail("running a transaction", e)),
            }
        }
    }

    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let vkey = self.value_key(space, key);
        self.with_conn("reading", |c| redis::cmd("GET").arg(&vkey).query(c))
    }

    fn scan(
        &self,
        space: Space,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let keys = self.scan_keys(space, start, end, limit)?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(512) {
            let vkeys: Vec<Vec<u8>> = chunk.iter().map(|k| self.value_key(space, k)).collect();
            let values: Vec<Option<Vec<u8>>> =
                self.with_conn("reading", |c| redis::cmd("MGET").arg(&vkeys).query(c))?;
            // A key removed between the two reads is skipped, as if scanned a moment later.
            out.extend(
                chunk
                    .iter()
                    .zip(values)
                    .filter_map(|(k, v)| v.map(|v| (k.clone(), v))),
            );
        }
        Ok(out)
    }

    fn scan_keys(
        &self,
        space: Space,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let ikey = self.index_key(space);
        let mut min = b"[".to_vec();
        min.extend_from_slice(start);
        let max = match end {
            Some(e) => {
                let mut m = b"(".to_vec();
                m.extend_from_slice(e);
                m
            }
            None => b"+".to_vec(),
        };
        self.with_conn("scanning", |c| {
            let mut cmd = redis::cmd("ZRANGEBYLEX");
            cmd.arg(&ikey).arg(&min).arg(&max);
            if limit < usize::MAX {
                cmd.arg("LIMIT")
                    .arg(0)
                    .arg(limit.min(i64::MAX as usize) as i64);
            }
            cmd.query(c)
        })
    }

    fn next_id(&self) -> Result<u64, StoreError> {
        let key = format!("{}:ids", self.config.namespace);
        // INCR is atomic and never repeats a value, but a reply lost with the connection
        // would make a retry skip one id: harmless, ids need only be unique.
        self.with_conn("taking an id", |c| redis::cmd("INCR").arg(&key).query(c))
    }

    fn flush(&self) -> Result<(), StoreError> {
        // Each EXEC was acknowledged after the server's own fsync policy applied.
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "Redis at {} (namespace {})",
            self.url, self.config.namespace
        )
    }

    fn shared(&self) -> Option<&dyn SharedStore> {
        Some(self)
    }
}

impl SharedStore for RedisStore {
    fn publish(&self, message: &[u8]) -> Result<(), StoreError> {
        let channel = self.channel();
        self.with_conn("publishing an event", |c| {
            redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(message)
                .query::<()>(c)
        })
    }

    fn server_time(&self) -> Result<Millis, StoreError> {
        let (secs, micros): (u64, u64) = self.with_conn("reading the server's clock", |c| {
            redis::cmd("TIME").query(c)
        })?;
        Ok(secs * 1000 + micros / 1000)
    }

    fn listen(&self) -> Result<tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>, StoreError> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let client = self.client.clone();
        let channel = self.channel();
        let url = self.url.clone();
        let timeout = self.config.io_timeout;
        // Fail now, with a clear error, if the server cannot be reached at all.
        self.with_conn("subscribing to events", |c| {
            redis::cmd("PING").query::<()>(c)
        })?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("video2doc-redis-events".into())
            .spawn(move || listen_loop(client, channel, url, timeout, tx, ready_tx))
            .map_err(|source| StoreError::Io {
                path: "video2doc-redis-events thread".into(),
                source,
            })?;
        // A started worker is subscribed: a resume published right after it said it was
        // ready must reach it (it keeps trying in the background if this times out).
        if ready_rx.recv_timeout(timeout).is_err() {
            tracing::warn!(url = %self.url, "the event channel is not subscribed yet; going on");
        }
        Ok(rx)
    }
}

/// Receives published messages until the receiver is dropped, reconnecting with backoff.
fn listen_loop(
    client: Client,
    channel: String,
    url: String,
    timeout: Duration,
    tx: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
    ready: std::sync::mpsc::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut pause = Duration::from_millis(100);
    let mut lost = false;
    while !tx.is_closed() {
        let r = (|| -> Result<(), RedisError> {
            let mut conn = client.get_connection_with_timeout(timeout)?;
            let mut ps = conn.as_pubsub();
            ps.subscribe(&channel)?;
            ps.set_read_timeout(Some(Duration::from_millis(500)))?;
            // Subscribed: what was published before now was missed, so the receiver
            // reads the shared state again (an empty message says so).
            let _ = tx.send(Vec::new());
            if let Some(ready) = ready.take() {
                let _ = ready.send(());
            }
            if lost {
                tracing::info!(url = %url, "the event channel is connected again");
                lost = false;
            }
            pause = Duration::from_millis(100);
            while !tx.is_closed() {
                match ps.get_message() {
                    Ok(msg) => {
                        let _ = tx.send(msg.get_payload_bytes().to_vec());
                    }
                    Err(e) if e.is_timeout() => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })();
        if let Err(e) = r {
            if !lost {
                tracing::warn!(url = %url, error = %e, "the event channel to Redis was lost; reconnecting");
                lost = true;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_messages() {
        assert_eq!(
            redact("redis://:s3cret@db.lab:6379/2"),
            "redis://***@db.lab:6379/2"
        );
        assert_eq!(redact("redis://db.lab:6379/2"), "redis://db.lab:6379/2");
        let c = Client::open("rediss://user:s3cret@db.lab:6380/3").unwrap();
        assert_eq!(display_url(&c), "rediss://db.lab:6380/3");
    }
}
