//! Three `accounts serve` processes on one PostgreSQL database, driven at once over HTTP, as
//! the normal scale-out deployment runs: the guarantees that live in the unit of work must
//! hold across processes. Pool headroom, licences, one Idempotency-Key sent to every process,
//! allocation racing an account deletion and a disable, a process killed with `kill -9`
//! under load, and a wave of wrong log-ins against the abuse budgets. Each case runs [`REPEATS`] times on fresh organisations. PostgreSQL only (one
//! SQLite file is served by one process): runs when `ACCOUNTS_TEST_POSTGRES_URL` is set, says
//! loudly that it did not run otherwise, and fails under `CI=true` without it.

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};
use std::thread;

use serde_json::{Value, json};

use crate::support::{Auth, Backend, Org, PASSWORD, Resp, Server, Site, backends, say};

/// Each case runs this many times.
const REPEATS: usize = 5;
/// Server processes on the one database.
const PROCESSES: usize = 3;

/// Three servers on one fresh PostgreSQL database; `None` (after saying so) when PostgreSQL
/// is not configured, outside CI.
fn processes(test: &str) -> Option<(Site, Vec<Server>)> {
    processes_with(test, &[])
}

/// [`processes`], each server with `env` set.
fn processes_with(test: &str, env: &[(&str, &str)]) -> Option<(Site, Vec<Server>)> {
    if !backends(test).contains(&Backend::Postgres) {
        return None;
    }
    let site = Site::new(Backend::Postgres);
    // One after the other: the first creates the server key the others read.
    let servers = (0..PROCESSES)
        .map(|_| {
            let mut cmd = site.serve_command();
            cmd.envs(env.iter().copied());
            site.start(cmd)
        })
        .collect();
    Some((site, servers))
}

/// Runs `n` requests at once (released together by a barrier), request `i` by `call(i)`.
fn at_once<T: Send + 'static>(
    n: usize,
    call: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let call = Arc::new(call);
    let start = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (call, start) = (Arc::clone(&call), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                call(i)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn allocate(server: &Server, org: &Org, member: &str, amount: i64, key: Option<&str>) -> Resp {
    let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    let body = json!({"kind": "export", "amount": amount});
    server.send(
        "POST",
        &format!("/api/v1/team/members/{member}/allocations"),
        &org.admin.auth(),
        &headers,
        Some(&body),
    )
}

/// Every page of `path` (a list with `items` and `next_cursor`).
fn all_items(server: &Server, path: &str, auth: &Auth) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit=200&cursor={c}"),
            None => format!("{path}{sep}limit=200"),
        };
        let page = server.get(&url, auth);
        page.expect(200);
        items.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

/// The organisation's credit invariants, read through the API: for each kind, the pool's
/// total and allocated equal the ledger's sums, the pool's allocated credits are held by its
/// live members (none stranded on a deleted one: these cases spend nothing), and the
/// headroom is never negative.
fn assert_credits_whole(server: &Server, org: &Org) {
    let admin = org.admin.auth();
    let pools = server.get("/api/v1/team/credits", &admin);
    pools.expect(200);
    let ledger = all_items(server, "/api/v1/team/ledger", &admin);
    let members = all_items(server, "/api/v1/team/members", &admin);
    for pool in pools.body["pools"].as_array().unwrap() {
        let kind = pool["kind"].as_str().unwrap();
        let sum = |t: &str| -> i64 {
            ledger
                .iter()
                .filter(|e| e["kind"] == kind && e["entry_type"] == t)
                .map(|e| e["amount"].as_i64().unwrap())
                .sum()
        };
        let held: i64 = members
            .iter()
            .flat_map(|m| m["credits"].as_array().unwrap())
            .filter(|b| b["kind"] == kind)
            .map(|b| b["allocated"].as_i64().unwrap())
            .sum();
        let (total, allocated) =
            (pool["total"].as_i64().unwrap(), pool["allocated"].as_i64().unwrap());
        assert_eq!(total, sum("grant") - sum("expire"), "{kind}: total = ledger");
        assert_eq!(allocated, sum("allocate") - sum("reclaim"), "{kind}: allocated = ledger");
        assert_eq!(
            allocated, held,
            "{kind}: allocated credits held by live members (none stranded)"
        );
        assert!(pool["headroom"].as_i64().unwrap() >= 0, "{kind}: overdrawn {pool}");
    }
}

fn statuses(answers: &[Resp]) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for r in answers {
        let label = match r.body["type"].as_str() {
            Some(t) => format!("{} {}", r.status, t.rsplit('#').next().unwrap_or(t)),
            None => r.status.to_string(),
        };
        *seen.entry(label).or_default() += 1;
    }
    seen
}

#[test]
fn pool_headroom_holds_across_processes() {
    let Some((_site, servers)) = processes("pool_headroom_holds_across_processes") else { return };
    let servers = Arc::new(servers);
    for rep in 0..REPEATS {
        let org =
            servers[0].org(&format!("Headroom {rep}"), &format!("admin{rep}@headroom.test"), 5);
        let sub = servers[1]
            .post(
                "/api/v1/team/members",
                &org.admin.auth(),
                json!({"first_name": "Sam", "email": format!("sam{rep}@headroom.test")}),
            )
            .str("/id");
        servers[2].grant(&org, "export", 1_000);
        let (s, o) = (Arc::clone(&servers), org.clone());
        let answers = at_once(200, move |i| allocate(&s[i % PROCESSES], &o, &sub, 7, None));
        let seen = statuses(&answers);
        say(&format!(
            "multiprocess: 200 × allocate 7 of a pool of 1000 on {PROCESSES} processes: {seen:?}"
        ));
        assert_eq!(
            seen,
            BTreeMap::from([("200".to_owned(), 142), ("409 insufficient-credits".to_owned(), 58)])
        );
        assert_credits_whole(&servers[rep % PROCESSES], &org);
    }
}

#[test]
fn licences_hold_across_processes() {
    let Some((_site, servers)) = processes("licences_hold_across_processes") else { return };
    let servers = Arc::new(servers);
    for rep in 0..REPEATS {
        // Six licences, one held by the admin: five free.
        let org =
            servers[0].org(&format!("Licences {rep}"), &format!("admin{rep}@licences.test"), 6);
        let (s, o) = (Arc::clone(&servers), org.clone());
        let answers = at_once(20, move |i| {
            s[i % PROCESSES].post(
                "/api/v1/team/members",
                &o.admin.auth(),
                json!({"first_name": "New", "email": format!("new{rep}-{i}@licences.test")}),
            )
        });
        let seen = statuses(&answers);
        say(&format!("multiprocess: 20 × add member against 5 free licences: {seen:?}"));
        assert_eq!(
            seen,
            BTreeMap::from([("201".to_owned(), 5), ("409 no-free-licence".to_owned(), 15)])
        );
        let summary = servers[rep % PROCESSES].get("/api/v1/team/summary", &org.admin.auth());
        assert_eq!((summary.int("/enabled"), summary.int("/licences")), (6, 6));
    }
}

#[test]
fn one_idempotency_key_has_one_effect_across_processes() {
    let Some((_site, servers)) = processes("one_idempotency_key_has_one_effect_across_processes")
    else {
        return;
    };
    let servers = Arc::new(servers);
    for rep in 0..REPEATS {
        let org = servers[0].org(&format!("Keys {rep}"), &format!("admin{rep}@keys.test"), 5);
        let sub = servers[1]
            .post(
                "/api/v1/team/members",
                &org.admin.auth(),
                json!({"first_name": "Sam", "email": format!("sam{rep}@keys.test")}),
            )
            .str("/id");
        servers[2].grant(&org, "export", 1_000);
        let (s, o, member) = (Arc::clone(&servers), org.clone(), sub.clone());
        let key = format!("one-key-{rep}");
        let answers = at_once(50, move |i| allocate(&s[i % PROCESSES], &o, &member, 5, Some(&key)));
        let seen = statuses(&answers);
        let replayed = answers
            .iter()
            .filter(|r| r.header("idempotent-replayed").as_deref() == Some("true"))
            .count();
        say(&format!(
            "multiprocess: one Idempotency-Key 50 times on {PROCESSES} processes: {seen:?}, {replayed} replayed"
        ));
        assert_eq!(seen, BTreeMap::from([("200".to_owned(), 50)]), "no 5xx, no in-flight");
        assert_eq!(replayed, 49);
        let entry = answers[0].str("/entry_id");
        assert!(answers.iter().all(|r| r.str("/entry_id") == entry), "one ledger entry");
        let ledger = all_items(
            &servers[0],
            &format!("/api/v1/team/ledger?member_id={sub}&entry_type=allocate"),
            &org.admin.auth(),
        );
        assert_eq!(ledger.len(), 1, "one effect");
        assert_credits_whole(&servers[rep % PROCESSES], &org);
    }
}

#[test]
fn allocation_racing_deletion_and_disable_strands_nothing() {
    let Some((_site, servers)) =
        processes("allocation_racing_deletion_and_disable_strands_nothing")
    else {
        return;
    };
    let servers = Arc::new(servers);
    for rep in 0..REPEATS {
        let org = servers[0].org(&format!("Races {rep}"), &format!("admin{rep}@races.test"), 10);
        servers[1].grant(&org, "export", 10_000);
        let leaver = servers[0].member(&org, "Lea", &format!("lea{rep}@races.test"));
        let disabled = servers[1].member(&org, "Dan", &format!("dan{rep}@races.test"));
        for who in [&leaver, &disabled] {
            allocate(&servers[2], &org, &who.id, 20, None).expect(200);
        }
        // Allocations to both through two processes while the third deletes one account and
        // disables the other; the disable's caller then reads what the member holds.
        let (s, o, l, d) = (Arc::clone(&servers), org.clone(), leaver.clone(), disabled.clone());
        let answers = at_once(14, move |i| match i {
            0 => {
                let r = s[2].post("/api/v1/me/deletion", &l.auth(), json!({"password": PASSWORD}));
                (r, None)
            }
            1 => {
                let r = s[2]
                    .post_empty(&format!("/api/v1/team/members/{}/disable", d.id), &o.admin.auth());
                let held = s[2].get(&format!("/api/v1/team/members/{}", d.id), &o.admin.auth());
                (r, Some(held.of_kind("/credits", "export")["allocated"].as_i64().unwrap()))
            }
            _ => {
                let target = if i % 2 == 0 { &l.id } else { &d.id };
                (allocate(&s[i % 2], &o, target, 5, None), None)
            }
        });
        let mut answers = answers.into_iter();
        let (deleted, _) = answers.next().unwrap();
        let (disable, held_at_disable) = answers.next().unwrap();
        deleted.expect(204);
        disable.expect(200);
        let moves: Vec<Resp> = answers.map(|(r, _)| r).collect();
        let seen = statuses(&moves);
        say(&format!("multiprocess: 12 allocations racing a deletion and a disable: {seen:?}"));
        for label in seen.keys() {
            assert!(
                ["200", "404 not-found", "422 target-disabled"].contains(&label.as_str()),
                "unexpected answer {label}"
            );
        }
        let after =
            servers[0].get(&format!("/api/v1/team/members/{}", disabled.id), &org.admin.auth());
        assert_eq!(
            after.of_kind("/credits", "export")["allocated"].as_i64(),
            held_at_disable,
            "an allocation landed after the disable answered"
        );
        assert_credits_whole(&servers[rep % PROCESSES], &org);
    }
}

#[test]
fn a_process_killed_under_load_leaves_no_stuck_key() {
    const LOADERS: usize = 9;
    const KEYS_EACH: usize = 30;
    let Some((site, servers)) = processes("a_process_killed_under_load_leaves_no_stuck_key") else {
        return;
    };
    let servers = Arc::new(std::sync::RwLock::new(servers));
    for rep in 0..REPEATS {
        let (org, sub) = {
            let s = servers.read().unwrap();
            let org = s[0].org(&format!("Crash {rep}"), &format!("admin{rep}@crash.test"), 5);
            let sub = s[1]
                .post(
                    "/api/v1/team/members",
                    &org.admin.auth(),
                    json!({"first_name": "Sam", "email": format!("sam{rep}@crash.test")}),
                )
                .str("/id");
            s[2].grant(&org, "export", 100_000);
            (org, sub)
        };
        let victim = rep % PROCESSES;
        // Loaders send keyed allocations of 1, each to its own process; when no answer comes
        // (the process died mid-request), the same key goes to the next process until one
        // answers. Every key must end in a 200, never a 409 for a change that did not commit.
        let answered = Arc::new(Barrier::new(LOADERS + 1));
        let loaders: Vec<_> = (0..LOADERS)
            .map(|t| {
                let (servers, org, sub, answered) =
                    (Arc::clone(&servers), org.clone(), sub.clone(), Arc::clone(&answered));
                thread::spawn(move || {
                    let mut outcomes = Vec::new();
                    for n in 0..KEYS_EACH {
                        if n == KEYS_EACH / 3 {
                            answered.wait(); // a third done everywhere: the kill comes now
                        }
                        let key = format!("crash-{rep}-{t}-{n}");
                        let mut target = t % PROCESSES;
                        let mut lost = 0;
                        let resp = loop {
                            let guard = servers.read().unwrap();
                            let sent = guard[target].try_exchange(
                                "POST",
                                &format!("/api/v1/team/members/{sub}/allocations"),
                                &org.admin.auth(),
                                &[("Idempotency-Key", key.as_str())],
                                Some(&json!({"kind": "export", "amount": 1})),
                            );
                            match sent {
                                Ok(resp) => break resp,
                                Err(_) => {
                                    lost += 1;
                                    target = (target + 1) % PROCESSES;
                                    assert!(lost < 20, "no process answered {key}");
                                }
                            }
                        };
                        outcomes.push((key, resp.status, resp.body["type"].clone(), lost > 0));
                    }
                    outcomes
                })
            })
            .collect();
        answered.wait();
        // A signal, not the write lock: requests to the victim are in flight as it dies.
        servers.read().unwrap()[victim].kill();
        let outcomes: Vec<_> = loaders.into_iter().flat_map(|l| l.join().unwrap()).collect();
        let retried = outcomes.iter().filter(|o| o.3).count();
        let bad: Vec<_> = outcomes.iter().filter(|o| o.1 != 200).collect();
        say(&format!(
            "multiprocess: kill -9 of process {victim} under {LOADERS} loaders: {} keys, {retried} retried elsewhere, {} not 200",
            outcomes.len(),
            bad.len()
        ));
        assert!(bad.is_empty(), "keys not answered 200: {bad:?}");
        let s = servers.read().unwrap();
        let live = &s[(victim + 1) % PROCESSES];
        let ledger = all_items(
            live,
            &format!("/api/v1/team/ledger?member_id={sub}&entry_type=allocate"),
            &org.admin.auth(),
        );
        assert_eq!(ledger.len(), LOADERS * KEYS_EACH, "each key took effect exactly once");
        assert_credits_whole(live, &org);
        drop(s);
        // Back to three processes for the next round.
        let mut s = servers.write().unwrap();
        s[victim] = site.serve();
    }
}

const METRICS_TOKEN: &str = "multiprocess-metrics-token-0123456789abcdef";

/// Password verifications (argon2id runs) all `servers` have completed, from their metrics.
fn verifications(servers: &[Server]) -> u64 {
    servers
        .iter()
        .map(|server| {
            let r = server.send("GET", "/metrics", &Auth::Bearer(METRICS_TOKEN.into()), &[], None);
            assert_eq!(r.status, 200, "{}", r.text);
            let series = "accounts_password_hashes_total{op=\"verify\"} ";
            r.text
                .lines()
                .find_map(|l| l.strip_prefix(series)?.trim().parse::<f64>().ok())
                .unwrap_or_else(|| panic!("no {series} in the metrics"))
        })
        .sum::<f64>() as u64
}

fn log_in(server: &Server, email: &str, password: &str, client: &str) -> Resp {
    server.send(
        "POST",
        "/api/v1/auth/login",
        &Auth::None,
        &[("X-Forwarded-For", client)],
        Some(&json!({"email": email, "password": password})),
    )
}

/// Rule 24 across processes: 200 wrong log-ins for one address at once from one client, then
/// 200 from 200 clients, spread over three processes, check exactly the budgets' number of
/// passwords (counted from the processes' own hash metrics); the owner's known client still
/// logs in while a new client is refused.
#[test]
fn wrong_log_ins_check_only_the_budget_across_processes() {
    const PAIR: usize = 10; // rates::LOGIN_PAIR.burst
    const ADDRESS: usize = 30; // rates::LOGIN_ADDRESS.burst
    let env =
        [("ACCOUNTS_TRUSTED_PROXIES", "127.0.0.1"), ("ACCOUNTS_METRICS_TOKEN", METRICS_TOKEN)];
    let Some((_site, servers)) =
        processes_with("wrong_log_ins_check_only_the_budget_across_processes", &env)
    else {
        return;
    };
    let servers = Arc::new(servers);
    // Fewer repeats than the other cases: each spends an hour's budget of argon2id runs.
    for rep in 0..3 {
        let email = format!("admin{rep}@guarded.test");
        servers[0].org(&format!("Guarded {rep}"), &email, 2);
        // The owner's own client logs in once: it is known for the address from now on.
        log_in(&servers[1], &email, PASSWORD, "198.51.100.1").expect(200);
        let before = verifications(&servers);

        let (s, e) = (Arc::clone(&servers), email.clone());
        let one_client =
            at_once(200, move |i| log_in(&s[i % PROCESSES], &e, "a wrong guess", "203.0.113.7"));
        let (s, e) = (Arc::clone(&servers), email.clone());
        let many_clients = at_once(200, move |i| {
            let client = format!("203.0.{}.{}", 114 + i / 250, i % 250 + 1);
            log_in(&s[i % PROCESSES], &e, "a wrong guess", &client)
        });
        let checked = verifications(&servers) - before;
        let (one, many) = (statuses(&one_client), statuses(&many_clients));
        say(&format!(
            "multiprocess: 200 wrong log-ins from one client {one:?}, then from 200 clients \
             {many:?}; passwords checked: {checked}"
        ));
        assert_eq!(
            one,
            BTreeMap::from([
                ("401 invalid-credentials".to_owned(), PAIR),
                ("429 too-many-requests".to_owned(), 200 - PAIR),
            ])
        );
        assert_eq!(
            many,
            BTreeMap::from([
                ("401 invalid-credentials".to_owned(), ADDRESS - PAIR),
                ("429 too-many-requests".to_owned(), 200 - (ADDRESS - PAIR)),
            ])
        );
        assert_eq!(checked, ADDRESS as u64, "a hash for each admitted guess, none for the rest");
        // The attacker cannot lock the owner out; a new client is held until the budget refills.
        log_in(&servers[2], &email, PASSWORD, "198.51.100.2")
            .expect_problem(429, "too-many-requests");
        log_in(&servers[rep % PROCESSES], &email, PASSWORD, "198.51.100.1").expect(200);
    }
}
