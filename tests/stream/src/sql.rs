//! Real SQL servers for the sink tests: PostgreSQL and MariaDB from Debian's packages
//! (`scripts/sql-servers.sh install`), each in a fresh data directory on a free loopback
//! port, run as the server's own user when we are root. A server can be stopped and started
//! again on the same data and port (a database outage); it is stopped and deleted on drop.

use crate::harness::{check, kill};
use crate::kafka::free_port;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// `program args` as `user` when we are root, else as ourselves.
fn command_as(user: &str, program: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", user, "--", program]);
        c
    } else {
        Command::new(program)
    }
}

fn scratch_dir(kind: &str, port: u16, user: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("timber-{kind}-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    if is_root() {
        check(
            "chown",
            Command::new("chown")
                .args(["-R", &format!("{user}:{user}"), dir.to_str().unwrap()])
                .output(),
        );
    }
    dir
}

/// A PostgreSQL server with a database `timber`, user `postgres`, password `timber`.
pub struct PgServer {
    dir: PathBuf,
    bin: PathBuf,
    /// Where it listens.
    pub port: u16,
    options: PgOptions,
}

/// How a [`PgServer`] runs.
#[derive(Clone, Copy, Debug)]
pub struct PgOptions {
    /// Write to disk with `fsync` (PostgreSQL's default). Off, commits and restarts are
    /// much faster, for tests whose deadline leaves no room for a slow disk (data survives
    /// a restart of the server, not of the machine).
    pub fsync: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions { fsync: true }
    }
}

impl PgServer {
    /// Creates and starts a server with PostgreSQL's defaults.
    pub fn start() -> PgServer {
        Self::start_with(PgOptions::default())
    }

    /// Creates and starts a server run as `options` say.
    pub fn start_with(options: PgOptions) -> PgServer {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is not installed (scripts/sql-servers.sh install)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|b| b.join("initdb").is_file())
            .expect("no /usr/lib/postgresql/*/bin/initdb");
        let port = free_port();
        let dir = scratch_dir("pg", port, "postgres");
        let pg = PgServer {
            dir,
            bin,
            port,
            options,
        };
        let data = pg.dir.join("data");
        check(
            "initdb",
            pg.command("initdb")
                .args([
                    "-D",
                    data.to_str().unwrap(),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                ])
                .output(),
        );
        pg.resume();
        check(
            "psql",
            pg.command("psql")
                .args([
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "-U",
                    "postgres",
                ])
                .args(["-d", "postgres", "-c", "CREATE DATABASE timber"])
                .output(),
        );
        pg
    }

    fn command(&self, program: &str) -> Command {
        command_as("postgres", self.bin.join(program).to_str().unwrap())
    }

    /// The path of one of the server's programs (`psql`, …), to run as ourselves.
    pub fn program(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }

    /// The sink URL of database `timber`.
    pub fn url(&self) -> String {
        format!("postgres://postgres:timber@127.0.0.1:{}/timber", self.port)
    }

    /// Starts the (stopped) server again, on the same data and port.
    pub fn resume(&self) {
        let data = self.dir.join("data");
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        if !self.options.fsync {
            options.push_str(" -c fsync=off");
        }
        let log = self.dir.join("postgres.log");
        check(
            "pg_ctl start",
            self.command("pg_ctl")
                .args(["-D", data.to_str().unwrap(), "-o", &options])
                .args(["-l", log.to_str().unwrap(), "-w", "start"])
                .output(),
        );
    }

    /// Stops the server at once (connections are cut; committed data stays).
    pub fn stop(&self) {
        let data = self.dir.join("data");
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A MariaDB server with a database `timber`, user `timber`, password `timber`.
pub struct MariaDb {
    dir: PathBuf,
    /// Where it listens.
    pub port: u16,
    child: Option<Child>,
}

impl MariaDb {
    /// Creates and starts a server.
    pub fn start() -> MariaDb {
        let port = free_port();
        let dir = scratch_dir("mariadb", port, "mysql");
        check(
            "mariadb-install-db",
            command_as("mysql", "mariadb-install-db")
                .args(["--no-defaults", "--auth-root-authentication-method=socket"])
                .arg(format!("--datadir={}", dir.join("data").display()))
                .output(),
        );
        let mut db = MariaDb {
            dir,
            port,
            child: None,
        };
        db.resume();
        check(
            "mariadb",
            Command::new("mariadb")
                .args(["--no-defaults", "-u", "root"])
                .arg(format!("--socket={}", db.dir.join("sock").display()))
                .arg("-e")
                .arg(
                    // `localhost` as well: the anonymous `''@'localhost'` user of a fresh
                    // install would otherwise take a local client's connections.
                    "CREATE DATABASE timber; \
                     CREATE USER 'timber'@'%' IDENTIFIED BY 'timber'; \
                     CREATE USER 'timber'@'localhost' IDENTIFIED BY 'timber'; \
                     GRANT ALL ON timber.* TO 'timber'@'%'; \
                     GRANT ALL ON timber.* TO 'timber'@'localhost';",
                )
                .output(),
        );
        db
    }

    /// The sink URL of database `timber`.
    pub fn url(&self) -> String {
        format!("mysql://timber:timber@127.0.0.1:{}/timber", self.port)
    }

    /// Starts the (stopped) server again, on the same data and port; waits until it answers.
    pub fn resume(&mut self) {
        let mut cmd = Command::new("mariadbd");
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--port={}", self.port))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", self.dir.join("sock").display()))
            .arg(format!("--log-error={}", self.dir.join("log").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if is_root() {
            cmd.arg("--user=mysql");
        }
        self.child = Some(
            cmd.spawn()
                .expect("mariadbd (scripts/sql-servers.sh install)"),
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = Command::new("mariadb")
                .args(["--no-defaults", "-u", "root", "-e", "SELECT 1"])
                .arg(format!("--socket={}", self.dir.join("sock").display()))
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "mariadbd did not start: {}",
                std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the server (committed data stays: InnoDB recovers it on the next start).
    pub fn stop(&mut self) {
        kill(self.child.take());
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
