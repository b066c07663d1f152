//! Saying what answered at a server's address when it is not the database the URL names
//! (a PostgreSQL URL at Redis's port, a MySQL URL at PostgreSQL's).
//!
//! sqlx then either waits for an answer that never comes (its pool only reports the
//! connect timeout) or fails with a protocol error about a byte it did not expect. The
//! probe opens its own TCP connection and looks at the first bytes, as each protocol
//! begins:
//!
//! * PostgreSQL: the client sends an `SSLRequest`; a server answers one byte, `S` or `N`
//!   (or an `E` error packet);
//! * MySQL/MariaDB: the server speaks first, a handshake packet (protocol version 10) or
//!   an error packet (`0xff`).
//!
//! Hand-written because no maintained crate tells protocols apart; it reads at most 64
//! bytes and never sends more than the 8 of an `SSLRequest`.

#![cfg(any(feature = "postgres", feature = "mysql"))]

use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    #[cfg(feature = "postgres")]
    Postgres,
    #[cfg(feature = "mysql")]
    MySql,
}

impl Expect {
    fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "postgres")]
            Expect::Postgres => "PostgreSQL",
            #[cfg(feature = "mysql")]
            Expect::MySql => "MySQL/MariaDB",
        }
    }
}

/// A TCP address to probe (a Unix socket is not probed).
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) expect: Expect,
}

impl Target {
    /// `None` for a Unix socket (a host that is a path).
    pub(super) fn tcp(host: &str, port: u16, socket: bool, expect: Expect) -> Option<Target> {
        (!socket && !host.starts_with('/')).then(|| Target {
            host: host.to_owned(),
            port,
            expect,
        })
    }
}

/// What the server at `target` is not, in one sentence, if the probe can tell by
/// `deadline` (the connect timeout): `None` when it answers as the expected database,
/// cannot be reached (sqlx says why better) or a connection cannot even be opened in time.
/// `waited` is the connect timeout, shown when the server stayed silent.
pub(super) async fn wrong_server(
    target: &Target,
    deadline: Instant,
    waited: Duration,
) -> Option<String> {
    let addr = format!("{}:{}", target.host, target.port);
    let what = target.expect.name();
    let mut stream = tokio::time::timeout_at(deadline, TcpStream::connect(&addr))
        .await
        .ok()?
        .ok()?;
    #[cfg(feature = "postgres")]
    if target.expect == Expect::Postgres {
        // SSLRequest: length 8, code 80877103.
        tokio::io::AsyncWriteExt::write_all(&mut stream, &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
            .await
            .ok()?;
    }
    let mut seen = Vec::with_capacity(64);
    let mut buf = [0_u8; 64];
    let closed = loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) if seen.is_empty() => {
                return Some(format!(
                    "{addr} accepted the connection but did not answer as a {what} server \
                     within {:.1} s",
                    waited.as_secs_f64()
                ));
            }
            Err(_) => break false,
            Ok(Err(_)) => return None,
            Ok(Ok(0)) => break true,
            Ok(Ok(n)) => {
                seen.extend_from_slice(&buf[..n.min(64 - seen.len())]);
                if seen.len() >= needed(target.expect) || seen.len() == 64 {
                    break false;
                }
            }
        }
    };
    if seen.is_empty() {
        return closed
            .then(|| format!("{addr} closed the connection without answering as a {what} server"));
    }
    if looks_like(target.expect, &seen) {
        return None;
    }
    Some(format!(
        "{addr} answered, but not as a {what} server (it sent {})",
        shown(&seen)
    ))
}

/// How many bytes tell the protocol.
fn needed(expect: Expect) -> usize {
    match expect {
        #[cfg(feature = "postgres")]
        Expect::Postgres => 1,
        // 3 bytes of length, the sequence number 0, then the protocol version or 0xff.
        #[cfg(feature = "mysql")]
        Expect::MySql => 5,
    }
}

/// Whether the first bytes are the expected protocol's.
fn looks_like(expect: Expect, seen: &[u8]) -> bool {
    match expect {
        #[cfg(feature = "postgres")]
        Expect::Postgres => matches!(seen, [b'S' | b'N'] | [b'E', ..]),
        #[cfg(feature = "mysql")]
        Expect::MySql => matches!(seen, [_, _, _, 0, 10 | 0xff, ..]),
    }
}

/// The first bytes as a quoted string, at most 32 characters of it.
fn shown(seen: &[u8]) -> String {
    let text = String::from_utf8_lossy(seen);
    let mut quoted: String = text.chars().take(32).flat_map(char::escape_debug).collect();
    if text.chars().count() > 32 {
        quoted.push_str("...");
    }
    format!("\"{quoted}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_answers_one_byte() {
        assert!(looks_like(Expect::Postgres, b"N"));
        assert!(looks_like(Expect::Postgres, b"S"));
        assert!(!looks_like(Expect::Postgres, b"-ERR unknown command"));
        assert!(!looks_like(Expect::Postgres, b"Nope"));
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn mysql_greets_with_protocol_10() {
        assert!(looks_like(Expect::MySql, b"\x5b\0\0\0\x0a5.5.5-10.11"));
        assert!(looks_like(Expect::MySql, b"\x45\0\0\0\xffj\x04Host"));
        assert!(!looks_like(Expect::MySql, b"SSH-2.0-OpenSSH"));
    }

    #[test]
    fn shown_is_quoted_escaped_and_short() {
        assert_eq!(shown(b"garbage\r\n"), "\"garbage\\r\\n\"");
        assert_eq!(shown(&[b'x'; 40]), format!("\"{}...\"", "x".repeat(32)));
    }
}
