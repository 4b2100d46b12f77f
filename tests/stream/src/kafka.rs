//! A real Kafka-protocol broker (Tansu) for the stream tests and `stream-bench`, started on
//! a free port (optionally behind a relay that can cut it off the network), and plain
//! rdkafka producer and consumer helpers.

use crate::harness::{check, kill};
use crate::sql::{PgOptions, PgServer};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::Message;
use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The Tansu binary: `$TIMBER_TANSU`, or where `scripts/kafka-broker.sh install` puts it.
pub fn tansu() -> PathBuf {
    tansu_build(
        "TIMBER_TANSU",
        "timber-tansu-0.6.0",
        "install",
        "in-memory (dynostore)",
    )
}

/// A Tansu build: `$env_var`, or `~/.cache/{dir}/bin/tansu`, where
/// `scripts/kafka-broker.sh {install}` puts it; which must exist.
fn tansu_build(env_var: &str, dir: &str, install: &str, storage: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env_var) {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").expect("HOME is not set");
    let path = PathBuf::from(home)
        .join(".cache")
        .join(dir)
        .join("bin/tansu");
    assert!(
        path.is_file(),
        "no Tansu 0.6.0 with {storage} storage at {}: run `scripts/kafka-broker.sh {install}` \
         (scripts/test.sh does) or point {env_var} at one",
        path.display()
    );
    path
}

/// A Tansu broker of our own, on loopback, optionally behind a [`Cut`] that can take it
/// off the network, storing in memory or in a PostgreSQL database.
pub struct Broker {
    child: Option<Child>,
    /// `--storage-engine`.
    storage: String,
    /// The tansu binary.
    binary: PathBuf,
    /// Where the broker listens.
    pub port: u16,
    /// Where clients reach it (the cut's port when there is one).
    advertised: u16,
    /// Working directory and log.
    pub dir: PathBuf,
    /// The relay clients go through, for [`Broker::start_cuttable`].
    pub cut: Option<Cut>,
}

impl Broker {
    /// A fresh in-memory broker on a free port.
    pub fn start() -> Broker {
        let port = free_port();
        Self::launch_new(port, port, None, tansu(), "memory://tansu/".into())
    }

    /// A broker storing in `postgres` (with [`tansu_postgres`], a build with that engine), so
    /// its topics, records and committed offsets outlive its process ([`Broker::restart`]).
    pub fn start_on(postgres: &Postgres) -> Broker {
        let port = free_port();
        Self::launch_new(port, port, None, tansu_postgres(), postgres.url())
    }

    /// Stops the broker process and starts a new one on the same port and storage.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// A broker that clients reach only through a [`Cut`], so a test can make it vanish
    /// from the network and come back, as a restarted broker does, without losing its
    /// in-memory state.
    pub fn start_cuttable() -> Broker {
        let port = free_port();
        let cut = Cut::start(port);
        let advertised = cut.port;
        Self::launch_new(
            port,
            advertised,
            Some(cut),
            tansu(),
            "memory://tansu/".into(),
        )
    }

    fn launch_new(
        port: u16,
        advertised: u16,
        cut: Option<Cut>,
        binary: PathBuf,
        storage: String,
    ) -> Broker {
        let dir = std::env::temp_dir().join(format!("timber-kafka-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut broker = Broker {
            child: None,
            storage,
            binary,
            port,
            advertised,
            dir,
            cut,
        };
        broker.launch();
        broker
    }

    /// The address clients use.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.advertised)
    }

    fn launch(&mut self) {
        let listen = format!("tcp://127.0.0.1:{}", self.port);
        let advertised = format!("tcp://{}", self.addr());
        let child = Command::new(&self.binary)
            .args([
                "broker",
                "--listener-url",
                &listen,
                "--advertised-listener-url",
                &advertised,
            ])
            .args(["--storage-engine", &self.storage])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(self.log_file())
            .spawn()
            .expect("cannot start tansu");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.tansu(&["topic", "list"]) {
            let log = std::fs::read_to_string(self.dir.join("tansu.log"));
            assert!(
                Instant::now() < deadline,
                "broker not ready after 30 s:\n{}",
                log.unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Everything the broker has logged, across restarts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("tansu.log")).unwrap_or_default()
    }

    /// The broker's log.
    fn log_file(&self) -> std::fs::File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("tansu.log"))
            .expect("broker log file")
    }

    fn tansu(&self, args: &[&str]) -> bool {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let mut cmd = Command::new(&self.binary);
        cmd.args(args).args(["--broker", &url]);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        cmd.status().map(|s| s.success()).unwrap_or(false)
    }

    /// Creates a topic (Tansu creates none by itself).
    pub fn create_topic(&self, name: &str, partitions: u32) {
        let ok = self.tansu(&[
            "topic",
            "create",
            "--partitions",
            &partitions.to_string(),
            name,
        ]);
        assert!(ok, "cannot create topic {name}");
    }

    /// Stops the broker (SIGTERM, then SIGKILL after 10 s).
    pub fn stop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        kill(self.child.take());
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Tansu built with its PostgreSQL storage engine: `$TIMBER_TANSU_PG`, or where
/// `scripts/kafka-broker.sh install-postgres` puts it.
pub fn tansu_postgres() -> PathBuf {
    tansu_build(
        "TIMBER_TANSU_PG",
        "timber-tansu-pg-0.6.0",
        "install-postgres",
        "PostgreSQL",
    )
}

/// A PostgreSQL server of our own ([`PgServer`], run with `fsync` off: the broker restart
/// test's deadline leaves no room for a slow disk) holding Tansu's schema
/// (`$TIMBER_TANSU_PG_SCHEMA`, written by `scripts/kafka-broker.sh install-postgres`) in
/// database `postgres`. Stopped and deleted on drop.
pub struct Postgres {
    server: PgServer,
}

impl Postgres {
    /// Starts a server and loads Tansu's schema.
    pub fn start() -> Postgres {
        let server = PgServer::start_with(PgOptions { fsync: false });
        let schema = std::env::var("TIMBER_TANSU_PG_SCHEMA").expect(
            "TIMBER_TANSU_PG_SCHEMA is not set: the path of Tansu's PostgreSQL schema \
             (`scripts/kafka-broker.sh install-postgres` writes it; scripts/test.sh sets it)",
        );
        let url = format!("postgresql://postgres@127.0.0.1:{}/postgres", server.port);
        check(
            &format!("loading {schema}"),
            Command::new(server.program("psql"))
                .args(["-q", "-v", "ON_ERROR_STOP=1", &url, "-f", &schema])
                .output(),
        );
        Postgres { server }
    }

    /// The storage URL Tansu takes.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres:postgres@127.0.0.1:{}/postgres",
            self.server.port
        )
    }
}

/// A TCP relay in front of a broker that can be cut: while cut, every open connection is
/// reset and new ones are closed at once — what clients see while a broker is down.
pub struct Cut {
    /// Where clients connect.
    pub port: u16,
    down: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Cut {
    fn start(target: u16) -> Cut {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (down2, open2) = (down.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if down2.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let mut registry = open2.lock().unwrap();
                registry.push(client.try_clone().unwrap());
                registry.push(server.try_clone().unwrap());
                drop(registry);
                pump(client.try_clone().unwrap(), server.try_clone().unwrap());
                pump(server, client);
            }
        });
        Cut { port, down, open }
    }

    /// Takes the broker off the network.
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Puts it back.
    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

/// Copies bytes from `from` to `to` on a thread until either side closes.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Both);
        let _ = from.shutdown(std::net::Shutdown::Both);
    });
}

/// A TCP port free on loopback right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A producer that writes one record per batch (Tansu's in-memory engine mishandles
/// fetches from the middle of a batch; real Kafka does not need this).
pub fn producer(addr: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("linger.ms", "0")
        .set("batch.num.messages", "1")
        .set("message.timeout.ms", "60000")
        .create()
        .expect("producer")
}

/// A producer like [`producer`] that sends records of up to 10 MB.
pub fn big_producer(addr: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("linger.ms", "0")
        .set("batch.num.messages", "1")
        .set("message.max.bytes", "10000000")
        .set("message.timeout.ms", "60000")
        .create()
        .expect("producer")
}

/// A producer that batches as a real one would (for throughput runs that read every
/// partition from its start, where Tansu's mid-batch fetch quirk cannot bite).
pub fn batching_producer(addr: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("linger.ms", "5")
        .set("message.timeout.ms", "300000")
        .create()
        .expect("producer")
}

/// Produces `(key, value)` records, each with a `trace` header holding its key, and waits
/// until the broker has them all.
pub fn produce<'a>(
    producer: &BaseProducer,
    topic: &str,
    records: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    for (key, value) in records {
        let headers = OwnedHeaders::new().insert(Header {
            key: "trace",
            value: Some(key.as_bytes()),
        });
        let mut record = BaseRecord::to(topic)
            .key(key)
            .payload(value)
            .headers(headers);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, r)) => {
                    record = r;
                    producer.poll(Duration::from_millis(50));
                }
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(300)).expect("flush");
}

/// A record read back: value and headers by key.
#[derive(Debug, Clone)]
pub struct Got {
    /// The record's value.
    pub value: String,
    /// Its headers.
    pub headers: BTreeMap<String, String>,
}

/// Reads `topic` from the start until `want` distinct keys were seen (or the timeout);
/// returns every record per key (duplicates kept).
pub fn consume(
    addr: &str,
    topic: &str,
    want: usize,
    timeout: Duration,
) -> BTreeMap<String, Vec<Got>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", format!("reader-{topic}-{}", free_port()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let mut got: BTreeMap<String, Vec<Got>> = BTreeMap::new();
    let deadline = Instant::now() + timeout;
    while got.len() < want && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
            let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|x| {
                            let v = String::from_utf8_lossy(x.value.unwrap_or_default());
                            (x.key.to_string(), v.into_owned())
                        })
                        .collect()
                })
                .unwrap_or_default();
            got.entry(key).or_default().push(Got { value, headers });
        }
    }
    got
}
