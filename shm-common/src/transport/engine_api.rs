//! A container's name from its engine's API socket: one HTTP/1.0
//! `GET /containers/<id>/json` over the Unix socket Docker listens on, or
//! Podman's Docker-compatible one, taking the top-level `Name`. HTTP/1.0
//! so the engine answers with one plain body and closes the connection (no
//! chunks, no keep-alive); every read and write is bounded by a timeout, so
//! an engine that hangs costs one timeout, never a hang.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Docker's API socket.
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";
/// Rootful Podman's Docker-compatible API socket (`podman system service`).
pub const PODMAN_SOCKET: &str = "/run/podman/podman.sock";

/// How long one request may take, connection to last byte.
const TIMEOUT: Duration = Duration::from_millis(500);
/// The most of an answer read: an inspect document is a few KiB.
const MAX_ANSWER: u64 = 4 << 20;

/// One engine's API, reached through its socket.
#[derive(Debug, Clone)]
pub struct EngineApi {
    socket: PathBuf,
}

impl EngineApi {
    /// The API behind `socket`, if a socket is there (nothing is sent yet).
    pub fn at(socket: impl AsRef<Path>) -> Option<Self> {
        use std::os::unix::fs::FileTypeExt;
        let socket = socket.as_ref();
        std::fs::metadata(socket)
            .is_ok_and(|m| m.file_type().is_socket())
            .then(|| Self {
                socket: socket.to_owned(),
            })
    }

    /// The name of container `id` (without Docker's leading `/`); `Ok(None)`
    /// when the engine does not know it or answers with something else, an
    /// error when it does not answer (a caller stops asking it).
    pub fn container_name(&self, id: &str) -> std::io::Result<Option<String>> {
        if !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let Some(body) = self.get(&format!("/containers/{id}/json"))? else {
            return Ok(None);
        };
        let doc: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        let name = doc.as_ref().and_then(|d| d.get("Name")?.as_str());
        Ok(name.map(|n| n.strip_prefix('/').unwrap_or(n).to_owned()))
    }

    /// The body of a `200 OK` answer to `GET path`; `Ok(None)` for any
    /// other status.
    fn get(&self, path: &str) -> std::io::Result<Option<Vec<u8>>> {
        let mut stream = UnixStream::connect(&self.socket)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
        let mut answer = Vec::new();
        stream.take(MAX_ANSWER).read_to_end(&mut answer)?;
        Ok(body_of_ok(&answer).map(<[u8]>::to_vec))
    }
}

/// The body of an HTTP answer whose status is 200.
fn body_of_ok(answer: &[u8]) -> Option<&[u8]> {
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let status = answer[..end].split(|b| *b == b'\n').next()?;
    let code = status.split(|b| *b == b' ').nth(1)?;
    (code == b"200").then(|| &answer[end + 4..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_body_of_an_ok_answer() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"Name\":\"/web\"}";
        assert_eq!(body_of_ok(ok), Some(&b"{\"Name\":\"/web\"}"[..]));
        assert_eq!(body_of_ok(b"HTTP/1.0 404 Not Found\r\n\r\n{}"), None);
        assert_eq!(body_of_ok(b"HTTP/1.0 200 OK\r\n"), None);
    }

    #[test]
    fn asks_the_socket_and_reads_the_name() {
        let dir = std::env::temp_dir().join(format!("engine-api-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("api.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = [0u8; 256];
            let n = conn.read(&mut request).unwrap();
            conn.write_all(
                b"HTTP/1.0 200 OK\r\n\r\n{\"Mounts\":[{\"Name\":\"vol\"}],\"Name\":\"/web\"}",
            )
            .unwrap();
            String::from_utf8_lossy(&request[..n]).into_owned()
        });
        let api = EngineApi::at(&socket).unwrap();
        let id = "a".repeat(64);
        assert_eq!(api.container_name(&id).unwrap().as_deref(), Some("web"));
        let request = server.join().unwrap();
        assert!(request.starts_with(&format!("GET /containers/{id}/json HTTP/1.0\r\n")));
        assert_eq!(api.container_name("../x").unwrap(), None);
        // Nobody listens any more: an error, not an unknown container.
        assert!(api.container_name(&id).is_err());
        assert!(EngineApi::at(dir.join("none.sock")).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
