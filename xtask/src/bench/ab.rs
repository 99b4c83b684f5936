//! `cargo xtask ab A B --db FILE --script FILE`: two server binaries compared on a noisy
//! machine. Each serves its own copy of one SQLite database at once, and wrk loads them in
//! short slices that alternate between the two (the order swapped every round), so that both
//! see the same minutes of the machine; the verdict is the ratio of their summed requests and
//! the rounds B won. One bench run per binary, minutes apart, cannot resolve a 10% change on a
//! machine whose speed moves by more than that between minutes.

use std::fs;
use std::path::{Path, PathBuf};

use super::wrk::{self, WrkSummary};
use super::{Process, SHAPE, run_wrk, start_server, target_dir};

/// What `cargo xtask ab` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// The two server binaries, A (the reference) and B.
    pub bins: [PathBuf; 2],
    /// The SQLite database both serve a copy of (closed: the bench leaves its own so).
    pub db: PathBuf,
    /// A wrk script the bench generated (`<target>/bench/sqlite/<scenario>.lua`).
    pub script: PathBuf,
    /// Slices per binary.
    pub rounds: u32,
    /// Seconds per slice.
    pub secs: u32,
}

/// The usage line, for errors.
pub const USAGE: &str =
    "cargo xtask ab A_BIN B_BIN --db FILE.db --script FILE.lua [--rounds 12] [--secs 3]";

impl Args {
    /// From `ab A B --db … --script … [--rounds N] [--secs S]`.
    ///
    /// # Errors
    /// A missing or malformed argument, named.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut bins = Vec::new();
        let (mut db, mut script, mut rounds, mut secs) = (None, None, 12, 3);
        let mut rest = args.iter().skip(1);
        while let Some(arg) = rest.next() {
            let mut value = |name: &str| {
                rest.next().cloned().ok_or_else(|| format!("{name} needs a value; {USAGE}"))
            };
            let number = |name: &str, v: String| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name} must be a positive whole number, not `{v}`"))
            };
            match arg.as_str() {
                "--db" => db = Some(PathBuf::from(value("--db")?)),
                "--script" => script = Some(PathBuf::from(value("--script")?)),
                "--rounds" => rounds = number("--rounds", value("--rounds")?)?,
                "--secs" => secs = number("--secs", value("--secs")?)?,
                flag if flag.starts_with("--") => {
                    return Err(format!("unknown option `{flag}`; {USAGE}"));
                }
                bin => bins.push(PathBuf::from(bin)),
            }
        }
        let [a, b]: [PathBuf; 2] = bins.try_into().map_err(|got: Vec<PathBuf>| {
            format!("two binaries needed, got {}; {USAGE}", got.len())
        })?;
        Ok(Self {
            bins: [a, b],
            db: db.ok_or_else(|| format!("--db is missing; {USAGE}"))?,
            script: script.ok_or_else(|| format!("--script is missing; {USAGE}"))?,
            rounds,
            secs,
        })
    }
}

/// The comparison of paired slices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// Requests per second over all of A's slices, and over B's.
    pub rps: [f64; 2],
    /// B's summed requests per second over A's.
    pub ratio: f64,
    /// Rounds where B served more requests per second than A.
    pub b_wins: usize,
    /// Errored requests of A and of B.
    pub errors: [u64; 2],
}

/// Adds up rounds of (A's slice, B's slice).
#[must_use]
pub fn verdict(rounds: &[[WrkSummary; 2]]) -> Verdict {
    let side = |i: usize| {
        let requests: u64 = rounds.iter().map(|r| r[i].requests).sum();
        let seconds: f64 = rounds.iter().map(|r| r[i].seconds).sum();
        if seconds > 0.0 { requests as f64 / seconds } else { 0.0 }
    };
    let rps = [side(0), side(1)];
    Verdict {
        rps,
        ratio: if rps[0] > 0.0 { rps[1] / rps[0] } else { 0.0 },
        b_wins: rounds.iter().filter(|r| r[1].rps() > r[0].rps()).count(),
        errors: [0, 1].map(|i| rounds.iter().map(|r| r[i].errors).sum()),
    }
}

/// Runs the comparison and prints each round and the verdict.
///
/// # Errors
/// A file that cannot be read or copied, a server that does not start, wrk failing.
pub fn run(root: &Path, args: &Args) -> Result<(), String> {
    super::ensure_tool("wrk", "wrk")?;
    for file in [&args.bins[0], &args.bins[1], &args.db, &args.script] {
        if !file.is_file() {
            return Err(format!("{}: no such file", file.display()));
        }
    }
    let out = target_dir(root).join("ab");
    let servers = ["a", "b"].into_iter().zip(&args.bins).map(|(side, bin)| {
        let dir = out.join(side);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let db = dir.join("accounts.db");
        fs::copy(&args.db, &db).map_err(|e| format!("copying {}: {e}", args.db.display()))?;
        // Written out before the load, so that neither side's slices meet the copy's writeback.
        fs::File::open(&db).and_then(|f| f.sync_all()).map_err(|e| e.to_string())?;
        let url = format!("sqlite://{}?mode=rwc", db.display());
        start_server(bin, &url, &dir, "server.log")
    });
    let servers: Vec<Process> = servers.collect::<Result<_, _>>()?;
    let mut rounds = Vec::new();
    for round in 0..args.rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        let mut slices = [None, None];
        for i in order {
            let url = format!("http://{}", servers[i].addr);
            let text = run_wrk(&args.script, &url, args.secs, SHAPE)?;
            let statuses = wrk::statuses(&text);
            if !statuses.is_empty() {
                eprintln!("ab: {}: non-2xx statuses: {statuses}", ["A", "B"][i]);
            }
            if statuses.contains("401=") {
                return Err(format!(
                    "the script's sessions were refused (401): they end after 30 minutes \
                     unused, so run the bench that wrote {} again first",
                    args.script.display()
                ));
            }
            slices[i] = Some(wrk::parse_output(&text)?);
        }
        let [Some(a), Some(b)] = slices else { unreachable!("both sides ran") };
        eprintln!("ab: round {}: A {:.0} req/s, B {:.0} req/s", round + 1, a.rps(), b.rps());
        rounds.push([a, b]);
    }
    drop(servers);
    let v = verdict(&rounds);
    eprintln!(
        "ab: {} rounds of {} s: A {:.0} req/s, B {:.0} req/s; B/A {:.3}; B won {} of {}; errors A {}, B {}",
        args.rounds,
        args.secs,
        v.rps[0],
        v.rps[1],
        v.ratio,
        v.b_wins,
        args.rounds,
        v.errors[0],
        v.errors[1]
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn slice(requests: u64, seconds: f64, errors: u64) -> WrkSummary {
        WrkSummary { requests, seconds, p50_ms: 1.0, p99_ms: 2.0, errors }
    }

    #[test]
    fn parses_two_binaries_and_the_options() {
        let a = Args::parse(&args("ab old new --db x.db --script s.lua --rounds 4 --secs 2"));
        let a = a.unwrap();
        assert_eq!(a.bins, [PathBuf::from("old"), PathBuf::from("new")]);
        assert_eq!((a.db, a.script, a.rounds, a.secs), ("x.db".into(), "s.lua".into(), 4, 2));
        let d = Args::parse(&args("ab old new --db x.db --script s.lua")).unwrap();
        assert_eq!((d.rounds, d.secs), (12, 3));
    }

    #[test]
    fn names_what_is_wrong() {
        let e = |line| Args::parse(&args(line)).unwrap_err();
        assert!(e("ab old --db x --script s").contains("two binaries needed, got 1"));
        assert!(e("ab a b --script s").contains("--db is missing"));
        assert!(e("ab a b --db x").contains("--script is missing"));
        assert!(e("ab a b --db x --script s --rounds 0").contains("--rounds must be"));
        assert!(e("ab a b --db x --script s --secs").contains("--secs needs a value"));
        assert!(e("ab a b --db x --script s --fast").contains("unknown option `--fast`"));
    }

    #[test]
    fn the_verdict_sums_slices_and_counts_b_wins() {
        let rounds = [
            [slice(1_000, 2.0, 0), slice(1_200, 2.0, 1)],
            [slice(3_000, 2.0, 2), slice(2_400, 2.0, 0)],
            [slice(500, 1.0, 0), slice(600, 1.0, 0)],
        ];
        let v = verdict(&rounds);
        assert_eq!(v.rps, [4_500.0 / 5.0, 4_200.0 / 5.0]);
        assert!((v.ratio - 4_200.0 / 4_500.0).abs() < 1e-12);
        assert_eq!((v.b_wins, v.errors), (2, [2, 1]));
        assert_eq!(verdict(&[]).ratio, 0.0);
    }
}
