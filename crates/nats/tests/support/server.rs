//! Real nats-server processes for the tests, on loopback, on free ports,
//! with temporary store folders, killed when dropped.
//!
//! The server binary comes from `WEIR_NATS_SERVER`. Without it the tests
//! that need a server print why and return, unless `WEIR_NATS_REQUIRED=1`
//! (set by CI), which makes a missing server a failure.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server binary, or `None` (with a line on stderr) when the test
/// should skip.
pub fn server_bin(test: &str) -> Option<PathBuf> {
    match std::env::var_os("WEIR_NATS_SERVER") {
        Some(path) if !path.is_empty() => {
            let path = PathBuf::from(path);
            assert!(
                path.exists(),
                "WEIR_NATS_SERVER={} does not exist",
                path.display()
            );
            Some(path)
        }
        _ => {
            if std::env::var("WEIR_NATS_REQUIRED").as_deref() == Ok("1") {
                panic!("{test}: WEIR_NATS_REQUIRED=1 but WEIR_NATS_SERVER is not set");
            }
            eprintln!(
                "{test}: skipped: set WEIR_NATS_SERVER to a nats-server binary to run it \
                 (it starts its own servers on loopback)"
            );
            None
        }
    }
}

/// A free TCP port on 127.0.0.1 (free when this returns).
/// Never the same one twice in a process (the kernel may hand a port that
/// was just let go out again).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = l.local_addr().expect("local addr").port();
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// One running nats-server.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    pub monitor: u16,
    pub cluster_port: u16,
    pub name: String,
    dir: tempfile::TempDir,
    bin: PathBuf,
    config: PathBuf,
}

impl Server {
    /// A single JetStream server.
    pub fn start(bin: &std::path::Path) -> Server {
        Server::start_with(bin, "")
    }

    /// A single JetStream server with `extra` lines in its config.
    pub fn start_with(bin: &std::path::Path, extra: &str) -> Server {
        let s = Server::configure(bin, "solo", free_port(), None, extra);
        let mut s = s;
        s.spawn();
        s.wait_healthy();
        s
    }

    fn configure(
        bin: &std::path::Path,
        name: &str,
        cluster_port: u16,
        routes: Option<&[u16]>,
        extra: &str,
    ) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let (port, monitor) = (free_port(), free_port());
        let store = dir.path().join("store");
        let mut conf = format!(
            "server_name: {name}\nlisten: 127.0.0.1:{port}\nhttp: 127.0.0.1:{monitor}\n\
             jetstream {{\n  store_dir: {:?}\n  max_memory_store: 64MB\n  max_file_store: 1GB\n}}\n{extra}\n",
            store.display().to_string()
        );
        if let Some(routes) = routes {
            let routes: Vec<String> = routes
                .iter()
                .map(|p| format!("    nats-route://127.0.0.1:{p}"))
                .collect();
            conf.push_str(&format!(
                "cluster {{\n  name: weir\n  listen: 127.0.0.1:{cluster_port}\n  routes: [\n{}\n  ]\n}}\n",
                routes.join("\n")
            ));
        }
        let config = dir.path().join("server.conf");
        std::fs::write(&config, conf).expect("write config");
        Server {
            child: None,
            port,
            monitor,
            cluster_port,
            name: name.to_string(),
            dir,
            bin: bin.to_path_buf(),
            config,
        }
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("server.log")).expect("log file");
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// GETs `path` on the monitoring port: the status and the body.
    pub fn monitor_get(&self, path: &str) -> Option<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.monitor)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        let status = text.split_whitespace().nth(1)?.parse().ok()?;
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
        Some((status, body))
    }

    /// Waits (up to 20 s) for `/healthz?js-enabled-only=true` to answer 200.
    pub fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some((200, _)) = self.monitor_get("/healthz?js-enabled-only=true") {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("nats-server exited ({status}): {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "nats-server not healthy within 20 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// SIGKILLs the server (it can be started again with `restart`).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again, on the same ports and store.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A three-node JetStream cluster on loopback.
pub struct Cluster {
    pub nodes: Vec<Server>,
}

impl Cluster {
    /// Starts three nodes routed to each other and waits until each is
    /// healthy and a meta leader has been elected.
    pub fn start(bin: &std::path::Path) -> Cluster {
        let ports = [free_port(), free_port(), free_port()];
        let mut nodes: Vec<Server> = (0..3)
            .map(|i| {
                let name = format!("n{}", i + 1);
                Server::configure(bin, &name, ports[i], Some(&ports), "")
            })
            .collect();
        for n in &mut nodes {
            n.spawn();
        }
        for n in &mut nodes {
            n.wait_healthy();
        }
        let mut cluster = Cluster { nodes };
        cluster.wait_meta_leader();
        cluster
    }

    /// The client URL list: `nats://…,nats://…,nats://…`.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(Server::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Waits (up to 30 s) until a running node reports a meta leader.
    pub fn wait_meta_leader(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            for n in self.nodes.iter().filter(|n| n.is_running()) {
                if let Some((200, body)) = n.monitor_get("/jsz")
                    && let Ok(v) = serde_json::from_str::<serde_json::Value>(&body)
                    && v["meta_cluster"]["leader"]
                        .as_str()
                        .is_some_and(|l| !l.is_empty())
                {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "no meta leader within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The node named `name`.
    pub fn node_mut(&mut self, name: &str) -> &mut Server {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .expect("a node of that name")
    }
}
