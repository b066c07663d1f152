//! Private servers for the fault tests: a ZooKeeper, an etcd or a Redis of the test's
//! own, on a free loopback port with a data directory in a temporary directory, which
//! the test may stop (SIGKILL), restart on the same port and data, or pause, without
//! touching the shared servers other tests use. Each is killed when dropped.
//!
//! When the server's binary is missing, [`PrivateServer::start`] prints one `skipped:`
//! line and returns `None`.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Private {
    ZooKeeper,
    Etcd,
    Redis,
}

const ZK_SERVER: &str = "/usr/share/zookeeper/bin/zkServer.sh";

impl Private {
    fn binary(self) -> &'static str {
        match self {
            Private::ZooKeeper => ZK_SERVER,
            Private::Etcd => "etcd",
            Private::Redis => "redis-server",
        }
    }

    fn available(self) -> bool {
        match self {
            Private::ZooKeeper => Path::new(ZK_SERVER).exists(),
            _ => Command::new(self.binary())
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
        }
    }
}

/// A running (or stopped) private server.
pub struct PrivateServer {
    kind: Private,
    dir: tempfile::TempDir,
    /// The client port, on 127.0.0.1.
    pub port: u16,
    /// etcd's peer port.
    peer_port: u16,
    child: Option<Child>,
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PrivateServer {
    /// Starts one and waits (at most 60 s) until it accepts connections; `None` after a
    /// `skipped:` line when its binary is missing.
    pub fn start(kind: Private) -> Option<PrivateServer> {
        if !kind.available() {
            let _ = writeln!(
                std::io::stderr(),
                "skipped: {kind:?} fault tests: `{}` is not installed",
                kind.binary()
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut server = PrivateServer {
            kind,
            port: free_port(),
            peer_port: free_port(),
            dir,
            child: None,
        };
        if kind == Private::ZooKeeper {
            let config = format!(
                "tickTime=500\nminSessionTimeout=1000\nmaxSessionTimeout=120000\n\
                 maxClientCnxns=0\ndataDir={}\nclientPort={}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\n",
                server.data().display(),
                server.port
            );
            std::fs::create_dir_all(server.data()).unwrap();
            std::fs::write(server.dir.path().join("zoo.cfg"), config).unwrap();
        }
        server.restart();
        Some(server)
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `redis://127.0.0.1:port`.
    pub fn redis_url(&self) -> String {
        format!("redis://{}", self.addr())
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Kills the server (SIGKILL: as a crash) and waits until the port is closed.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data, and waits (at most 60 s) until it
    /// accepts connections.
    pub fn restart(&mut self) {
        self.stop();
        let log = std::fs::File::create(self.dir.path().join("server.log")).unwrap();
        let mut cmd = match self.kind {
            Private::ZooKeeper => {
                let mut cmd = Command::new(ZK_SERVER);
                cmd.arg("start-foreground")
                    .arg(self.dir.path().join("zoo.cfg"))
                    .env("ZOO_LOG_DIR", self.dir.path())
                    .env("JVMFLAGS", "-Xmx256m");
                cmd
            }
            Private::Etcd => {
                let client = format!("http://127.0.0.1:{}", self.port);
                let peer = format!("http://127.0.0.1:{}", self.peer_port);
                let mut cmd = Command::new("etcd");
                cmd.args(["--name", "private", "--data-dir"])
                    .arg(self.data())
                    .args(["--listen-client-urls", &client])
                    .args(["--advertise-client-urls", &client])
                    .args(["--listen-peer-urls", &peer])
                    .args(["--initial-advertise-peer-urls", &peer])
                    .args(["--initial-cluster", &format!("private={peer}")]);
                cmd
            }
            Private::Redis => {
                let mut cmd = Command::new("redis-server");
                cmd.args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
                    .args(["--save", "", "--appendonly", "no"])
                    .arg("--dir")
                    .arg(self.dir.path());
                cmd
            }
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(self.addr()).is_err() {
            assert!(
                Instant::now() < deadline,
                "the private {:?} did not start: {}",
                self.kind,
                std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Redis only: `CLIENT PAUSE ms` (every client's commands wait, as a store that
    /// refuses work).
    pub fn redis_pause(&self, ms: u64) {
        assert_eq!(self.kind, Private::Redis);
        let mut conn = TcpStream::connect(self.addr()).unwrap();
        let ms = ms.to_string();
        let command = format!(
            "*3\r\n$6\r\nCLIENT\r\n$5\r\nPAUSE\r\n${}\r\n{ms}\r\n",
            ms.len()
        );
        conn.write_all(command.as_bytes()).unwrap();
        let mut answer = [0_u8; 5];
        std::io::Read::read_exact(&mut conn, &mut answer).unwrap();
        assert_eq!(&answer, b"+OK\r\n");
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        self.stop();
    }
}
