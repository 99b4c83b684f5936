//! The seeded dataset's bulk rows and the invariant check, as SQL run through the `sqlite3` or
//! `psql` command-line clients. Organisations, their admins and their grants are created
//! through the API beforehand (real password hashes, real ledger entries); the bulk members,
//! their allocations and the year of ledger entries are inserted here in one transaction,
//! with the pools' `allocated` raised to match, so that every balance still equals its
//! ledger's sum.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Where the bench's database lives.
#[derive(Debug, Clone)]
pub enum Db {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl Db {
    /// The backend's name in the report: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Runs `sql` in the backend's command-line client; returns what it printed.
    pub fn run(&self, sql: &str) -> Result<String, String> {
        let (mut cmd, script) = match self {
            Self::Sqlite(path) => {
                let mut c = Command::new("sqlite3");
                c.args(["-batch", "-bail"]).arg(path);
                (c, format!(".timeout 30000\n{sql}"))
            }
            Self::Postgres(url) => {
                let mut c = Command::new("psql");
                c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-"]).arg(url);
                (c, sql.to_owned())
            }
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting {cmd:?}: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(script.as_bytes()).map_err(|e| format!("writing SQL: {e}"))?;
        }
        let out = child.wait_with_output().map_err(|e| format!("running {cmd:?}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{cmd:?} failed: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A UUID literal (`8-4-4-4-12` text in).
    pub fn uuid(&self, id: &str) -> String {
        match self {
            Self::Sqlite(_) => format!("X'{}'", id.replace('-', "")),
            Self::Postgres(_) => format!("'{id}'::uuid"),
        }
    }

    fn new_id(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "randomblob(16)",
            Self::Postgres(_) => "gen_random_uuid()",
        }
    }

    /// A timestamp from an expression in Unix seconds, in the form the server writes.
    fn ts(&self, epoch: &str) -> String {
        match self {
            Self::Sqlite(_) => {
                format!("strftime('%Y-%m-%dT%H:%M:%S', {epoch}, 'unixepoch') || '+00:00'")
            }
            Self::Postgres(_) => format!("to_timestamp({epoch})"),
        }
    }
}

/// The id of bulk member `k` (1-based): deterministic, so that pgbench can compute it.
pub fn member_uuid(k: u64) -> String {
    format!("b0000000-0000-4000-8000-{k:012x}")
}

/// How many consumptions each bulk member gets: the first (the "heavy" member of the usage
/// report) gets `heavy`, the rest share what is left as evenly as possible.
pub fn consumes_per_member(bulk: u64, total: u64, heavy: u64) -> Vec<u64> {
    if bulk == 0 {
        return Vec::new();
    }
    let heavy = heavy.min(total);
    let others = bulk - 1;
    let rest = total - heavy;
    let mut v = vec![heavy];
    if let (Some(each), Some(extra)) = (rest.checked_div(others), rest.checked_rem(others)) {
        v.extend((0..others).map(|i| each + u64::from(i < extra)));
    } else if let Some(first) = v.first_mut() {
        *first += rest;
    }
    v
}

/// One organisation created through the API.
#[derive(Debug, Clone)]
pub struct SeededOrg {
    pub id: String,
}

/// What the bulk insert adds.
#[derive(Debug, Clone)]
pub struct Bulk<'a> {
    pub orgs: &'a [SeededOrg],
    /// Sub-users per organisation.
    pub per_org: u64,
    /// Consumptions per bulk member (see [`consumes_per_member`]).
    pub consumes: &'a [u64],
    /// Each bulk member's seeded allocation.
    pub allocation: u64,
    /// Now, in Unix seconds; the ledger spans the year before.
    pub now: i64,
}

const YEAR_SECS: i64 = 365 * 24 * 3600;

/// The bulk insert, one transaction.
pub fn bulk_sql(db: &Db, b: &Bulk<'_>) -> String {
    let mut s = String::from("BEGIN;\n");
    let (int, id) = match db {
        Db::Sqlite(_) => ("INTEGER", "BLOB"),
        Db::Postgres(_) => ("bigint", "uuid"),
    };
    let _ = writeln!(
        s,
        "CREATE TEMP TABLE bench_members (k {int} PRIMARY KEY, id {id} NOT NULL, org_id {id} NOT NULL, n {int} NOT NULL);"
    );
    let rows: Vec<String> = b
        .consumes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let k = i as u64 + 1;
            let org = &b.orgs[(i as u64 / b.per_org.max(1)) as usize % b.orgs.len().max(1)];
            format!("({k}, {}, {}, {n})", db.uuid(&member_uuid(k)), db.uuid(&org.id))
        })
        .collect();
    for chunk in rows.chunks(500) {
        let _ = writeln!(s, "INSERT INTO bench_members VALUES {};", chunk.join(", "));
    }
    let created = db.ts(&b.now.saturating_sub(YEAR_SECS + 3600).to_string());
    // A copy of the organisation's admin with another id, name and login: the same password
    // hash, so any bulk member can log in with the admins' password.
    let _ = writeln!(
        s,
        "INSERT INTO members (id, org_id, role, status, plan, username, email, email_key, password_hash, \
         invitation_digest, invitation_expires_at, first_name, last_name, phone, company, job_title, \
         linkedin, profile_version, notify_low_credits, notify_weekly_digest, notify_product_news, \
         export_format, export_include_emails, export_include_phones, timezone, offerings, created_at, erased_at) \
         SELECT b.id, b.org_id, 'sub_user', 'enabled', a.plan, 'bench-m' || b.k, 'bench-m' || b.k || '@bench.test', \
         'bench-m' || b.k || '@bench.test', a.password_hash, NULL, NULL, 'Bench', 'Member', NULL, NULL, NULL, \
         NULL, 1, a.notify_low_credits, a.notify_weekly_digest, a.notify_product_news, a.export_format, \
         a.export_include_emails, a.export_include_phones, a.timezone, a.offerings, {created}, NULL \
         FROM bench_members b JOIN members a ON a.org_id = b.org_id AND a.role = 'admin';"
    );
    let _ = writeln!(
        s,
        "INSERT INTO allocations (member_id, kind, org_id, allocated, used) \
         SELECT b.id, 'export', b.org_id, {alloc}, b.n FROM bench_members b;",
        alloc = b.allocation
    );
    let _ = writeln!(
        s,
        "INSERT INTO ledger_entries (id, org_id, kind, entry_type, amount, member_id, actor_kind, \
         actor_member_id, acting_as, spender_id, at, reason, data_type, provider, event_id) \
         SELECT {new_id}, b.org_id, 'export', 'allocate', {alloc}, b.id, 'member', a.id, NULL, b.id, \
         {created}, 'bench seed', NULL, NULL, NULL \
         FROM bench_members b JOIN members a ON a.org_id = b.org_id AND a.role = 'admin';",
        new_id = db.new_id(),
        alloc = b.allocation,
    );
    let max_n = b.consumes.iter().copied().max().unwrap_or(0);
    let series = match db {
        Db::Sqlite(_) => {
            let _ = writeln!(
                s,
                "CREATE TEMP TABLE seq AS WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i + 1 < {max_n}) SELECT i FROM r;"
            );
            "seq s".to_owned()
        }
        Db::Postgres(_) => format!("generate_series(0, {}) AS s(i)", max_n.saturating_sub(1)),
    };
    let start = b.now - YEAR_SECS;
    let at = db.ts(&format!("{start} + (CAST(s.i AS BIGINT) * {YEAR_SECS}) / b.n"));
    let _ = writeln!(
        s,
        "INSERT INTO ledger_entries (id, org_id, kind, entry_type, amount, member_id, actor_kind, \
         actor_member_id, acting_as, spender_id, at, reason, data_type, provider, event_id) \
         SELECT {new_id}, b.org_id, 'export', 'consume', 1, b.id, 'member', b.id, NULL, b.id, {at}, NULL, \
         CASE s.i % 4 WHEN 0 THEN 'email' WHEN 1 THEN 'phone_number' WHEN 2 THEN 'direct_dial' ELSE 'export' END, \
         CASE s.i % 3 WHEN 0 THEN 'apollo' WHEN 1 THEN 'cognism' ELSE 'lusha' END, \
         'seed-' || b.k || '-' || s.i \
         FROM bench_members b JOIN {series} ON s.i < b.n;",
        new_id = db.new_id(),
    );
    // The server keeps consumption summed per UTC day and month (`consumption_rollups`);
    // the seed's consumptions get theirs as the roll-up migration sums an existing ledger.
    let (day, month) = match db {
        Db::Sqlite(_) => (
            "(CAST(strftime('%s', at) AS INTEGER) / 86400) * 86400",
            "CAST(strftime('%s', at, 'start of month') AS INTEGER)",
        ),
        Db::Postgres(_) => (
            "(floor(extract(epoch FROM at) / 86400) * 86400)::bigint",
            "extract(epoch FROM date_trunc('month', at AT TIME ZONE 'UTC'))::bigint",
        ),
    };
    for (unit, start) in [("day", day), ("month", month)] {
        let _ = writeln!(
            s,
            "INSERT INTO consumption_rollups (org_id, spender_id, unit, start, kind, data_type, provider, amount) \
             SELECT org_id, spender_id, '{unit}', {start}, kind, data_type, provider, SUM(amount) \
             FROM ledger_entries WHERE entry_type = 'consume' AND event_id LIKE 'seed-%' \
             GROUP BY org_id, spender_id, {start}, kind, data_type, provider;"
        );
    }
    let _ = writeln!(
        s,
        "UPDATE credit_pools SET allocated = allocated + {alloc} * \
         (SELECT count(*) FROM bench_members b WHERE b.org_id = credit_pools.org_id) WHERE kind = 'export';",
        alloc = b.allocation
    );
    s.push_str("COMMIT;\nANALYZE;\n");
    s
}

/// Five counts, `|`-separated, each of which must be 0: pools whose balances differ from
/// their ledger's sums, over-allocated pools, allocations that differ from their ledger's
/// sums, over-spent allocations, and consumption roll-ups (per organisation, kind, data type
/// and provider, by day and by month) that differ from the ledger's consumptions.
pub const INVARIANTS_SQL: &str = "\
WITH l AS (SELECT org_id, kind, \
  SUM(CASE WHEN entry_type = 'grant' THEN amount WHEN entry_type = 'expire' THEN -amount ELSE 0 END) AS total, \
  SUM(CASE WHEN entry_type = 'allocate' THEN amount WHEN entry_type = 'reclaim' THEN -amount ELSE 0 END) AS allocated, \
  SUM(CASE WHEN entry_type = 'consume' AND member_id IS NULL THEN amount ELSE 0 END) AS spent \
  FROM ledger_entries GROUP BY org_id, kind), \
m AS (SELECT member_id, kind, \
  SUM(CASE WHEN entry_type = 'allocate' THEN amount WHEN entry_type = 'reclaim' THEN -amount ELSE 0 END) AS allocated, \
  SUM(CASE WHEN entry_type = 'consume' THEN amount ELSE 0 END) AS used \
  FROM ledger_entries WHERE member_id IS NOT NULL GROUP BY member_id, kind) \
SELECT \
 (SELECT count(*) FROM credit_pools p LEFT JOIN l ON l.org_id = p.org_id AND l.kind = p.kind \
   WHERE p.total <> COALESCE(l.total, 0) OR p.allocated <> COALESCE(l.allocated, 0) \
      OR p.spent_from_pool <> COALESCE(l.spent, 0)), \
 (SELECT count(*) FROM credit_pools WHERE allocated + spent_from_pool > total OR allocated < 0 OR spent_from_pool < 0), \
 (SELECT count(*) FROM allocations a LEFT JOIN m ON m.member_id = a.member_id AND m.kind = a.kind \
   WHERE a.allocated <> COALESCE(m.allocated, 0) OR a.used <> COALESCE(m.used, 0)), \
 (SELECT count(*) FROM allocations WHERE used > allocated OR used < 0), \
 (SELECT count(*) FROM (SELECT org_id FROM ( \
   SELECT org_id, kind, data_type, provider, amount AS l, 0 AS d, 0 AS m FROM ledger_entries \
     WHERE entry_type = 'consume' AND data_type IS NOT NULL AND provider IS NOT NULL \
   UNION ALL SELECT org_id, kind, data_type, provider, 0, \
     CASE WHEN unit = 'day' THEN amount ELSE 0 END, CASE WHEN unit = 'month' THEN amount ELSE 0 END \
     FROM consumption_rollups) u \
   GROUP BY org_id, kind, data_type, provider HAVING SUM(l) <> SUM(d) OR SUM(l) <> SUM(m)) x);
";

/// Reads [`INVARIANTS_SQL`]'s output: what broke, or nothing.
pub fn invariant_failures(output: &str) -> Result<Vec<String>, String> {
    let counts: Vec<u64> = output
        .trim()
        .split('|')
        .map(|n| n.trim().parse::<u64>().map_err(|e| format!("invariant output `{output}`: {e}")))
        .collect::<Result<_, _>>()?;
    let names = [
        "pools differing from their ledger's sums",
        "over-allocated pools",
        "allocations differing from their ledger's sums",
        "over-spent allocations",
        "consumption roll-ups differing from the ledger",
    ];
    if counts.len() != names.len() {
        return Err(format!("invariant output `{output}`: expected 5 counts"));
    }
    Ok(names
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumptions_add_up_and_the_heavy_member_comes_first() {
        let v = consumes_per_member(9_900, 1_000_000 - 100 - 9_900, 10_000);
        assert_eq!(v.len(), 9_900);
        assert_eq!(v.iter().sum::<u64>(), 1_000_000 - 100 - 9_900);
        assert_eq!(v[0], 10_000);
        let (min, max) = (v[1..].iter().min().unwrap(), v[1..].iter().max().unwrap());
        assert!(max - min <= 1, "{min}..{max}");
        assert_eq!(consumes_per_member(1, 50, 10), vec![50]);
        assert!(consumes_per_member(0, 50, 10).is_empty());
    }

    #[test]
    fn member_ids_are_uuids_pgbench_can_compute() {
        assert_eq!(member_uuid(255), "b0000000-0000-4000-8000-0000000000ff");
        let db = Db::Sqlite(PathBuf::from("x"));
        assert_eq!(db.uuid(&member_uuid(1)), "X'b0000000000040008000000000000001'");
    }

    #[test]
    fn invariant_output_names_what_broke() {
        assert!(invariant_failures("0|0|0|0|0\n").unwrap().is_empty());
        assert_eq!(invariant_failures("0|2|0|0|0").unwrap(), vec!["2 over-allocated pools"]);
        assert_eq!(
            invariant_failures("0|0|0|0|3").unwrap(),
            vec!["3 consumption roll-ups differing from the ledger"]
        );
        assert!(invariant_failures("0|0").is_err());
        assert!(invariant_failures("").is_err());
    }
}
