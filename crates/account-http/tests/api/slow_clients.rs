//! Slow clients over a real socket: a head that never completes is cut at the header
//! timeout, a silent connection at the idle timeout, a body that trickles gets 408 at the body
//! timeout; a client at normal speed keeps its connection for several requests.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use account_http::{HttpConfig, HttpServer};
use account_memory::InMemory;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn serve(config: HttpConfig) -> SocketAddr {
    crate::server::capture();
    let mem = InMemory::new(5);
    let server = HttpServer::new(mem.accounts, config);
    let bound = server.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = bound.local_addr().unwrap();
    tokio::spawn(bound.run(std::future::pending()));
    addr
}

fn config() -> HttpConfig {
    HttpConfig {
        header_timeout: Duration::from_millis(800),
        body_timeout: Duration::from_millis(800),
        idle_timeout: Duration::from_millis(1500),
        ..HttpConfig::default()
    }
}

/// Reads until the server closes the connection (or 10 s pass); what it sent, and when.
async fn until_closed(stream: &mut TcpStream, started: Instant) -> (String, Duration) {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => panic!("still open after 10 s"),
        }
    }
    (String::from_utf8_lossy(&answer).into_owned(), started.elapsed())
}

#[tokio::test]
async fn a_head_sent_a_byte_at_a_time_is_cut_at_the_header_timeout() {
    let addr = serve(config()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let dripping = async {
        // A byte every 200 ms: far more often than the idle timeout, never a whole head.
        for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let (_, closed) = tokio::join!(dripping, async {
        let mut probe = TcpStream::connect(addr).await.unwrap();
        // A second, normal client is served meanwhile.
        probe
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (answer, _) = until_closed(&mut probe, Instant::now()).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    });
    let () = closed;
    let (_, after) = until_closed(&mut stream, started).await;
    assert!(
        after >= Duration::from_millis(700) && after < Duration::from_millis(2000),
        "cut after {after:?} (header timeout 800 ms)"
    );
}

#[tokio::test]
async fn a_silent_connection_is_closed_at_the_idle_timeout_also_between_requests() {
    let addr = serve(config()).await;
    let started = Instant::now();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let (_, after) = until_closed(&mut silent, started).await;
    assert!(
        after >= Duration::from_millis(1400) && after < Duration::from_millis(3000),
        "closed after {after:?} (idle timeout 1.5 s)"
    );

    // Keep-alive: requests at normal speed keep the connection, silence after them closes it.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut buf = vec![0u8; 8192];
    for _ in 0..3 {
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let n = stream.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    let last = Instant::now();
    let (_, after) = until_closed(&mut stream, last).await;
    assert!(after < Duration::from_millis(2500), "closed {after:?} after the last answer");
}

#[tokio::test]
async fn a_body_that_trickles_is_answered_408_at_the_body_timeout() {
    let addr = serve(config()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 60\r\n\r\n{\"email\"",
        )
        .await
        .unwrap();
    let trickle = async {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            if stream.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    trickle.await;
    let (answer, after) = until_closed(&mut stream, started).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json") && answer.contains("request-timeout"));
    assert!(after < Duration::from_millis(4000), "{after:?}");
}
