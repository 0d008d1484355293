//! Debian's `docker-registry` on a free loopback port, with its storage in a temporary
//! directory; stopped when dropped. The engine talks plain HTTP to a registry on 127.0.0.0/8.
//! `private` puts it behind htpasswd authentication (bcrypt, the only hash it takes).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{COMMAND_LIMIT, OutputWithin, wait_until};

const BINARY: &str = "/usr/bin/docker-registry";

pub struct Registry {
    child: std::process::Child,
    /// `127.0.0.1:PORT`, the registry host an image name starts with.
    pub address: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// A registry anyone may push to and pull from.
    pub fn start() -> Registry {
        Registry::serve(tempfile::tempdir().unwrap(), "")
    }

    /// A registry that takes only `user` with `password` (HTTP basic auth, as `docker login`
    /// gives it).
    pub fn private(user: &str, password: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let htpasswd = dir.path().join("htpasswd");
        std::fs::write(&htpasswd, format!("{user}:{}\n", bcrypt(password))).unwrap();
        let auth = format!(
            "auth:\n  htpasswd:\n    realm: wharf-test\n    path: {}\n",
            htpasswd.display()
        );
        Registry::serve(dir, &auth)
    }

    /// Serves from `dir` (its configuration and storage), with the `auth` section given.
    fn serve(dir: tempfile::TempDir, auth: &str) -> Registry {
        assert!(
            Path::new(BINARY).is_file(),
            "{BINARY} is missing: install it with `apt-get install docker-registry`"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new(BINARY)
            .args(["serve", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let address = format!("127.0.0.1:{port}");
        wait_until(
            "the registry listens",
            Duration::from_secs(10),
            || std::net::TcpStream::connect(&address).is_ok(),
            String::new,
        );
        Registry {
            child,
            address,
            _dir: dir,
        }
    }
}

/// `password` hashed with bcrypt, by Python's `crypt` (the C library's, which has bcrypt).
pub fn bcrypt(password: &str) -> String {
    let script =
        "import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))";
    let out = Command::new("python3")
        .args(["-W", "ignore", "-c", script, password])
        .output_within(COMMAND_LIMIT);
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && hash.starts_with("$2"),
        "python3 could not hash with bcrypt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    hash
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
