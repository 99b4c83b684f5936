//! The SQLite allocation baseline: the statements of the server's allocation unit of work run
//! through rusqlite on the bench's SQLite file, in this process, with the server's connection
//! PRAGMAs, one writer, back to back. It is what SQLite itself allows one process for an
//! allocation, as pgbench is for PostgreSQL; the server's `allocate_*` rows on SQLite are
//! reported as a ratio of it.
//!
//! The server's SQLite concurrency model is one writer: every write unit queues on one async
//! mutex, then takes `BEGIN IMMEDIATE`. Many rusqlite connections would only poll SQLite's write
//! lock through `busy_timeout`; one connection running the units in sequence is that queue
//! without the queueing.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};

use super::paired::Slice;
use super::seed::member_uuid;

/// The PRAGMAs `account-sea` sets on every SQLite connection (`SeaStore::connect`):
/// WAL, foreign keys, a 5 s busy timeout, `synchronous = NORMAL`, a 512 KiB page cache.
const PRAGMAS: &str = "PRAGMA journal_mode = WAL;
PRAGMA foreign_keys = ON;
PRAGMA busy_timeout = 5000;
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -512;";

/// The server's timestamp text (sqlx writes RFC 3339 with microseconds; SQLite's clock gives
/// milliseconds, the same length of work).
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%f', 'now') || '+00:00'";

/// 16 bytes of a UUID's text, as the server stores ids in SQLite.
fn uuid_bytes(text: &str) -> Result<Vec<u8>, String> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return Err(format!("not a UUID: {text}"));
    }
    (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| format!("{text}: {e}")))
        .collect()
}

/// A deterministic pseudo-random sequence (xorshift64*): the baseline needs no more.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

fn sql_err(what: &str) -> impl Fn(rusqlite::Error) -> String + '_ {
    move |e| format!("rusqlite baseline, {what}: {e}")
}

/// One allocation of 1 export credit to bulk member `k` by bulk member `a` of the same
/// organisation, as the server's unit: read both members (all columns), read the pool and the
/// allocation, update the pool, upsert the allocation, append the ledger and audit entries.
fn allocate(conn: &mut Connection, k: u64, a: u64) -> Result<(), String> {
    let (target, actor) = (uuid_bytes(&member_uuid(k))?, uuid_bytes(&member_uuid(a))?);
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_err("BEGIN IMMEDIATE"))?;
    let mut org: Option<Vec<u8>> = None;
    {
        let mut read = tx
            .prepare_cached(
                "SELECT * FROM members WHERE erased_at IS NULL AND id IN (?1, ?2) ORDER BY id",
            )
            .map_err(sql_err("members"))?;
        let mut rows = read.query(params![actor, target]).map_err(sql_err("members"))?;
        while let Some(row) = rows.next().map_err(sql_err("members"))? {
            // Every column is read, as sea-orm maps the whole row.
            for i in 0..row.as_ref().column_count() {
                let _ = row.get_ref(i).map_err(sql_err("members"))?;
            }
            let id: Vec<u8> = row.get("id").map_err(sql_err("members.id"))?;
            if id == target {
                org = Some(row.get("org_id").map_err(sql_err("members.org_id"))?);
            }
        }
    }
    let org = org.ok_or_else(|| format!("rusqlite baseline: member {k} not found"))?;
    let (total, allocated, spent): (i64, i64, i64) = tx
        .prepare_cached(
            "SELECT org_id, kind, total, allocated, spent_from_pool FROM credit_pools \
             WHERE org_id = ?1 AND kind = 'export' LIMIT 1",
        )
        .and_then(|mut s| s.query_row(params![org], |r| Ok((r.get(2)?, r.get(3)?, r.get(4)?))))
        .map_err(sql_err("credit_pools"))?;
    let _allocation: Option<(i64, i64)> = tx
        .prepare_cached(
            "SELECT member_id, kind, org_id, allocated, used FROM allocations \
             WHERE member_id = ?1 AND kind = 'export' LIMIT 1",
        )
        .and_then(|mut s| s.query_row(params![target], |r| Ok((r.get(3)?, r.get(4)?))).optional())
        .map_err(sql_err("allocations"))?;
    tx.prepare_cached(
        "UPDATE credit_pools SET total = ?1, allocated = ?2, spent_from_pool = ?3 \
         WHERE org_id = ?4 AND kind = 'export'",
    )
    .and_then(|mut s| s.execute(params![total, allocated + 1, spent, org]))
    .map_err(sql_err("update credit_pools"))?;
    tx.prepare_cached(
        "INSERT INTO allocations (member_id, kind, org_id, allocated, used) \
         VALUES (?1, 'export', ?2, 1, 0) ON CONFLICT (member_id, kind) DO UPDATE SET \
         org_id = excluded.org_id, allocated = allocations.allocated + 1, used = allocations.used",
    )
    .and_then(|mut s| s.execute(params![target, org]))
    .map_err(sql_err("upsert allocations"))?;
    tx.prepare_cached(&format!(
        "INSERT INTO ledger_entries (id, org_id, kind, entry_type, amount, member_id, actor_kind, \
         actor_member_id, acting_as, spender_id, at, reason, data_type, provider, event_id) \
         VALUES (randomblob(16), ?1, 'export', 'allocate', 1, ?2, 'member', ?3, NULL, ?2, {NOW}, \
         NULL, NULL, NULL, NULL)"
    ))
    .and_then(|mut s| s.execute(params![org, target, actor]))
    .map_err(sql_err("insert ledger_entries"))?;
    tx.prepare_cached(&format!(
        "INSERT INTO audit_entries (id, org_id, at, actor_kind, actor_member_id, acting_as, \
         action, target, detail) VALUES (randomblob(16), ?1, {NOW}, 'member', ?2, NULL, \
         'credits.allocated', ?3, 'kind=export amount=1')"
    ))
    .and_then(|mut s| s.execute(params![org, actor, format!("member:{}", member_uuid(k))]))
    .map_err(sql_err("insert audit_entries"))?;
    tx.commit().map_err(sql_err("COMMIT"))
}

/// Runs allocations to random bulk members `1..=members` (organisations of `per_org` bulk
/// members; the actor is the first of the target's organisation, as in the pgbench script)
/// for `secs` seconds; the slice with every unit's latency. `name` is for messages.
pub fn run(
    path: &Path,
    name: &str,
    members: u64,
    per_org: u64,
    secs: u32,
) -> Result<Slice, String> {
    let mut conn = Connection::open(path).map_err(sql_err("open"))?;
    conn.execute_batch(PRAGMAS).map_err(sql_err("PRAGMAs"))?;
    conn.set_prepared_statement_cache_capacity(32);
    eprintln!("bench: {name}: rusqlite, one writer, {secs} s");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id()) ^ rng_seed());
    let per_org = per_org.max(1);
    let mut latencies_us = Vec::new();
    let mut errors = 0u64;
    let started = Instant::now();
    let until = started + Duration::from_secs(u64::from(secs));
    while Instant::now() < until {
        let k = rng.below(members) + 1;
        let a = ((k - 1) / per_org) * per_org + 1;
        let one = Instant::now();
        match allocate(&mut conn, k, a) {
            Ok(()) => latencies_us.push(one.elapsed().as_secs_f64() * 1e6),
            Err(e) => {
                errors += 1;
                if errors <= 3 {
                    eprintln!("bench: {name}: {e}");
                }
            }
        }
    }
    Ok(Slice::from_latencies_us(started.elapsed().as_secs_f64(), errors, latencies_us))
}

/// Differs between the slices of one run, so that each picks its own members.
fn rng_seed() -> u64 {
    static SLICES: AtomicU64 = AtomicU64::new(0);
    SLICES.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_become_the_sixteen_bytes_sqlite_holds() {
        let b = uuid_bytes(&member_uuid(255)).unwrap();
        assert_eq!(b.len(), 16);
        assert_eq!(b[0], 0xb0);
        assert_eq!(b[15], 0xff);
        assert!(uuid_bytes("nope").is_err());
    }

    #[test]
    fn random_picks_stay_in_range() {
        let mut r = Rng(42);
        assert!((0..1000).map(|_| r.below(7)).all(|v| v < 7));
    }

    /// The unit runs against a minimal copy of the tables it touches, and keeps the
    /// pool's `allocated` equal to the allocations' sum.
    #[test]
    fn one_allocation_moves_one_credit() {
        let dir = std::env::temp_dir().join(format!("xtask-rusqlite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.db");
        let _ = std::fs::remove_file(&path);
        let conn = Connection::open(&path).unwrap();
        let (m1, m2) = (uuid_bytes(&member_uuid(1)).unwrap(), uuid_bytes(&member_uuid(2)).unwrap());
        conn.execute_batch(
            "CREATE TABLE members (id BLOB PRIMARY KEY, org_id BLOB, erased_at TEXT);
             CREATE TABLE credit_pools (org_id BLOB, kind TEXT, total INTEGER, allocated INTEGER,
               spent_from_pool INTEGER, PRIMARY KEY (org_id, kind));
             CREATE TABLE allocations (member_id BLOB, kind TEXT, org_id BLOB, allocated INTEGER,
               used INTEGER, PRIMARY KEY (member_id, kind));
             CREATE TABLE ledger_entries (id BLOB, org_id BLOB, kind TEXT, entry_type TEXT,
               amount INTEGER, member_id BLOB, actor_kind TEXT, actor_member_id BLOB, acting_as BLOB,
               spender_id BLOB, at TEXT, reason TEXT, data_type TEXT, provider TEXT, event_id TEXT);
             CREATE TABLE audit_entries (id BLOB, org_id BLOB, at TEXT, actor_kind TEXT,
               actor_member_id BLOB, acting_as BLOB, action TEXT, target TEXT, detail TEXT);
             INSERT INTO credit_pools VALUES (X'01', 'export', 10, 0, 0);",
        )
        .unwrap();
        for m in [&m1, &m2] {
            conn.execute("INSERT INTO members VALUES (?1, X'01', NULL)", params![m]).unwrap();
        }
        drop(conn);
        let slice = run(&path, "t", 2, 2, 0).unwrap();
        assert_eq!(slice.errors, 0);
        let mut conn = Connection::open(&path).unwrap();
        allocate(&mut conn, 2, 1).unwrap();
        allocate(&mut conn, 2, 1).unwrap();
        let (pool, alloc, ledger): (i64, i64, i64) = conn
            .query_row(
                "SELECT (SELECT allocated FROM credit_pools), (SELECT allocated FROM allocations),
                 (SELECT count(*) FROM ledger_entries)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((pool, alloc, ledger), (2, 2, 2));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
