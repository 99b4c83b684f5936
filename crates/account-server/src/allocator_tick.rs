//! Hands freed memory back to the operating system while the server runs, by giving the
//! `accounts` binary's allocator (mimalloc) a regular occasion to do it.
//!
//! mimalloc returns freed memory only once its purge delay (1 s by default) has passed, and
//! then only when some thread next frees a whole page. A server after a burst makes no such
//! frees: its threads reuse the pages they have, and idle threads (the argon2 ones after
//! log-ins) free none. Measured on the bench's data, the 24 MiB of a log-in burst stayed
//! resident for as long as the server ran (docs/benchmarks.md). Freeing a block too large for
//! mimalloc's size classes frees its page, on which mimalloc purges every range whose delay
//! has passed, wherever it was freed. Once a second, that is what [`spawn_purge_tick`] does.
//! It does not reach free space inside pages that still hold live objects. With another
//! allocator it is one short-lived allocation a second.

use std::time::Duration;

/// How often the tick runs: mimalloc's default purge delay, so that freed memory goes back
/// within two seconds.
pub const PURGE_TICK: Duration = Duration::from_secs(1);

/// Above mimalloc's largest size class (512 KiB), so that it has a page of its own.
const NUDGE_BYTES: usize = 1 << 20;

/// Allocates and frees one block of its own page (see the module's documentation).
fn nudge_allocator() {
    drop(std::hint::black_box(Vec::<u8>::with_capacity(NUDGE_BYTES)));
}

/// Allocates and frees one block of its own page every `every` on the current tokio runtime,
/// until aborted (see the module's documentation).
#[must_use]
pub fn spawn_purge_tick(every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            nudge_allocator();
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_tick_keeps_running_until_aborted() {
        let every = Duration::from_millis(5);
        let tick = spawn_purge_tick(every);
        tokio::time::sleep(every * 10).await;
        assert!(!tick.is_finished(), "still ticking");
        tick.abort();
        assert!(tick.await.is_err_and(|e| e.is_cancelled()));
    }
}
