//! The client address over a real socket: `X-Forwarded-For` counts only from a trusted proxy,
//! for the log-in budget per client (rule 24) and for the access log alike; a client that sends the
//! header itself (spoofing) keeps its own address.

use std::net::SocketAddr;

use account_core::domain::limits::rates::LOGIN_CLIENT;
use account_http::{HttpConfig, HttpServer, TrustedProxies};
use account_memory::InMemory;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `config` over the in-memory domain on a free port of 127.0.0.1.
async fn serve(config: HttpConfig) -> SocketAddr {
    crate::server::capture();
    let mem = InMemory::new(3);
    let server = HttpServer::new(mem.accounts, config);
    let bound = server.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = bound.local_addr().unwrap();
    tokio::spawn(bound.run(std::future::pending()));
    addr
}

/// A failed log-in for `email` sent with `X-Forwarded-For: forwarded`; the status.
async fn failed_login(addr: SocketAddr, email: &str, forwarded: &str, request_id: &str) -> u16 {
    let body = format!(r#"{{"email":"{email}","password":"not the password"}}"#);
    let request = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nX-Forwarded-For: {forwarded}\r\n\
         X-Request-Id: {request_id}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer[9..12].parse().unwrap()
}

fn config(trusted: &str) -> HttpConfig {
    HttpConfig { trusted_proxies: TrustedProxies::parse(trusted).unwrap(), ..HttpConfig::default() }
}

/// The `client=` of the access line of request `request_id`.
fn logged_client(request_id: &str) -> String {
    let text = crate::server::capture().text();
    let line = text
        .lines()
        .find(|l| l.contains("request served") && l.contains(&format!("request_id={request_id} ")))
        .unwrap_or_else(|| panic!("no access line for {request_id}"));
    line.split_whitespace()
        .find_map(|f| f.strip_prefix("client="))
        .unwrap_or_else(|| panic!("no client in {line}"))
        .to_owned()
}

#[tokio::test]
async fn a_forwarded_for_header_from_an_untrusted_peer_changes_nothing() {
    // The peer (127.0.0.1) is not among the trusted proxies: what it claims is ignored.
    let addr = serve(config("10.0.0.0/8")).await;
    let spoofs = ["203.0.113.1", "203.0.113.2", "203.0.113.3, 10.0.0.1"];
    let burst = usize::try_from(LOGIN_CLIENT.burst).unwrap();
    let mut statuses = Vec::new();
    for i in 0..=burst {
        let id = format!("spoof-{i}");
        let spoof = spoofs[i % spoofs.len()];
        statuses.push(failed_login(addr, &format!("u{i}@acme.test"), spoof, &id).await);
        assert_eq!(logged_client(&id), "127.0.0.1");
    }
    // Many addresses claimed, one client counted: the one past its budget is refused.
    assert!(statuses[..burst].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[burst], 429);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_counted_and_logged() {
    let addr = serve(config("127.0.0.1, 10.0.0.0/8")).await;
    // The balancer appends the peer it saw; a client-sent entry before it is ignored.
    let a = "6.6.6.6, 203.0.113.1, 10.0.0.5";
    let b = "203.0.113.2";
    assert_eq!(failed_login(addr, "x@acme.test", a, "fwd-a0").await, 401);
    assert_eq!(logged_client("fwd-a0"), "203.0.113.1");
    for i in 1..LOGIN_CLIENT.burst {
        assert_eq!(failed_login(addr, &format!("x{i}@acme.test"), a, "fwd-a").await, 401);
    }
    assert_eq!(failed_login(addr, "z@acme.test", a, "fwd-a2").await, 429);
    // Another client behind the same proxy is not held back by the first one's failures.
    assert_eq!(failed_login(addr, "w@acme.test", b, "fwd-b0").await, 401);
    assert_eq!(logged_client("fwd-b0"), "203.0.113.2");
}
