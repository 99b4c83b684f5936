//! Baselines for `cargo xtask bench`, measured on the same machine in the same run as the
//! server:
//!
//! - `poem-baseline serve ADDR`: a bare poem endpoint answering `GET /` with `{"ok":true}`, on
//!   the same tokio runtime the server uses (multi-threaded, one worker per core), so that
//!   `GET /me` can be compared with what poem itself does on this machine;
//! - `poem-baseline argon2 SECONDS`: argon2id hashes per second on one core with the server's
//!   parameters (m = 7 MiB, t = 5, p = 1), the ceiling for log-ins.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use poem::listener::TcpListener;
use poem::{Route, Server, get, handler};

/// The server's allocator (`account-server`'s `main.rs`), so that the comparison is poem
/// against poem plus our work, not one malloc against another.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The server's argon2id parameters (`account-server`'s `adapters::passwords`).
const MEMORY_KIB: u32 = 7 * 1024;
const ITERATIONS: u32 = 5;
const LANES: u32 = 1;

#[handler]
fn ok_body() -> poem::Response {
    poem::Response::builder().content_type("application/json").body(r#"{"ok":true}"#)
}

fn serve(addr: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    runtime.block_on(async {
        let app = Route::new().at("/", get(ok_body));
        Server::new(TcpListener::bind(addr)).run(app).await.map_err(|e| format!("serving: {e}"))
    })
}

/// Hashes for `seconds` on this thread; returns hashes per second.
fn argon2_rate(seconds: f64) -> Result<f64, String> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, LANES, None).map_err(|e| format!("params: {e}"))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"bench-salt-16byt").map_err(|e| format!("salt: {e}"))?;
    let start = Instant::now();
    let budget = Duration::from_secs_f64(seconds);
    let mut hashes = 0u32;
    while hashes < 3 || start.elapsed() < budget {
        argon2
            .hash_password(b"quartz wombat ferry lantern", &salt)
            .map_err(|e| format!("hashing: {e}"))?;
        hashes += 1;
    }
    Ok(f64::from(hashes) / start.elapsed().as_secs_f64())
}

#[allow(clippy::print_stdout)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match (args.first().map(String::as_str), args.get(1)) {
        (Some("serve"), Some(addr)) => serve(addr),
        (Some("argon2"), Some(secs)) => secs
            .parse::<f64>()
            .map_err(|e| format!("seconds: {e}"))
            .and_then(argon2_rate)
            .map(|rate| println!("{rate:.3}")),
        _ => Err("usage: poem-baseline serve ADDR | poem-baseline argon2 SECONDS".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
