//! The bench's results: one row per measurement, `results.json`, the Markdown table for
//! `docs/benchmarks.md`, and the parsing of pgbench's output and per-transaction logs.

use std::fmt::Write as _;
use std::path::Path;

use super::paired::Merged;
use super::wrk::WrkSummary;

/// One measurement (a scenario on a backend, or a baseline).
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub scenario: String,
    pub backend: String,
    pub rps: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub errors: u64,
    pub server_rss_mib: Option<f64>,
    /// The baselines this row is compared with, the first being the main one.
    pub against: Vec<Comparison>,
    /// The target on the 99th percentile, if any (docs/benchmarks.md, "Targets").
    pub p99_target_ms: Option<f64>,
}

/// A row's throughput as a ratio of a baseline's, and the least ratio the targets ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub baseline: String,
    pub baseline_rps: f64,
    pub ratio: Option<f64>,
    pub min_ratio: Option<f64>,
}

impl Comparison {
    fn met(&self) -> Option<bool> {
        self.min_ratio.map(|min| self.ratio.is_some_and(|r| r >= min))
    }
}

impl Row {
    /// A row from a wrk run and the highest RSS seen during it.
    pub fn measured(scenario: &str, backend: &str, s: &WrkSummary, rss_mib: f64) -> Self {
        Self {
            scenario: scenario.to_owned(),
            backend: backend.to_owned(),
            rps: s.rps(),
            p50_ms: Some(s.p50_ms),
            p99_ms: Some(s.p99_ms),
            errors: s.errors,
            server_rss_mib: Some(rss_mib),
            ..Self::default()
        }
    }

    /// A row from slices added up ([`super::paired::merge`]), with the highest RSS seen
    /// during them when the side is the server.
    pub fn merged(scenario: &str, backend: &str, m: &Merged, rss_mib: Option<f64>) -> Self {
        Self {
            scenario: scenario.to_owned(),
            backend: backend.to_owned(),
            rps: m.rps,
            p50_ms: m.p50_ms,
            p99_ms: m.p99_ms,
            errors: m.errors,
            server_rss_mib: rss_mib,
            ..Self::default()
        }
    }

    /// Compares this row with a baseline (the first call sets the main one); `min_ratio` is
    /// the target's least ratio, if any.
    pub fn compare(&mut self, baseline: &str, baseline_rps: f64, min_ratio: Option<f64>) {
        self.against.push(Comparison {
            baseline: baseline.to_owned(),
            baseline_rps,
            ratio: ratio(self.rps, baseline_rps),
            min_ratio,
        });
    }

    /// The main baseline's name.
    pub fn baseline(&self) -> Option<&str> {
        self.against.first().map(|c| c.baseline.as_str())
    }

    /// The main baseline's ratio.
    pub fn ratio(&self) -> Option<f64> {
        self.against.first().and_then(|c| c.ratio)
    }

    /// Whether every target of this row is met; `None` when it has none.
    pub fn verdict(&self) -> Option<bool> {
        let p99 = self.p99_target_ms.map(|max| self.p99_ms.is_some_and(|p| p < max));
        self.against.iter().map(Comparison::met).chain([p99]).flatten().reduce(|a, b| a && b)
    }

    /// The targets, as the table shows them (`≥ 0.50 of X`, `p99 < 25 ms`).
    pub fn targets_text(&self) -> String {
        let mut parts: Vec<String> = self
            .against
            .iter()
            .filter_map(|c| c.min_ratio.map(|m| format!("≥ {m:.2} of {}", c.baseline)))
            .collect();
        if let Some(max) = self.p99_target_ms {
            parts.push(format!("p99 < {max} ms"));
        }
        if parts.is_empty() { "-".to_owned() } else { parts.join("<br>") }
    }

    /// One line for the console.
    pub fn summary(&self) -> String {
        let ratios: String = self
            .against
            .iter()
            .filter_map(|c| c.ratio.map(|r| format!(", {r:.2} of {}", c.baseline)))
            .collect();
        let verdict = match self.verdict() {
            Some(true) => " (target met)",
            Some(false) => " (target not met)",
            None => "",
        };
        format!(
            "{} on {}: {:.0} req/s, p50 {} ms, p99 {} ms, {} errors, RSS {} MiB{ratios}{verdict}",
            self.scenario,
            self.backend,
            self.rps,
            opt(self.p50_ms, 2),
            opt(self.p99_ms, 2),
            self.errors,
            opt(self.server_rss_mib, 1),
        )
    }
}

/// `rps / baseline`, when the baseline measured anything.
pub fn ratio(rps: f64, baseline: f64) -> Option<f64> {
    (baseline > 0.0 && baseline.is_finite()).then(|| rps / baseline)
}

/// The nearest-rank percentile `p` (0..=100) of sorted `values`.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

fn json_num(v: Option<f64>) -> serde_json::Value {
    v.filter(|v| v.is_finite())
        .and_then(|v| serde_json::Number::from_f64((v * 1000.0).round() / 1000.0))
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

fn verdict_text(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "met",
        Some(false) => "not met",
        None => "-",
    }
}

/// `results.json`: a list of objects with the issue's fields.
pub fn to_json(rows: &[Row]) -> String {
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "scenario": r.scenario,
                "backend": r.backend,
                "rps": json_num(Some(r.rps)),
                "p50_ms": json_num(r.p50_ms),
                "p99_ms": json_num(r.p99_ms),
                "errors": r.errors,
                "server_rss_mib": json_num(r.server_rss_mib),
                "baseline": r.baseline(),
                "baseline_rps": json_num(r.against.first().map(|c| c.baseline_rps)),
                "ratio": json_num(r.ratio()),
                "target": r.targets_text(),
                "verdict": verdict_text(r.verdict()),
                "comparisons": r.against.iter().map(|c| serde_json::json!({
                    "baseline": c.baseline,
                    "baseline_rps": json_num(Some(c.baseline_rps)),
                    "ratio": json_num(c.ratio),
                    "min_ratio": json_num(c.min_ratio),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_else(|e| format!("\"{e}\""))
}

/// What the numbers were measured on.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cores: u32,
    pub cpu: String,
    pub date: String,
    pub argon2_per_core: f64,
}

impl Machine {
    /// Reads the CPU model from `/proc/cpuinfo` and the date from `date -u`.
    pub fn detect(cores: u32, argon2_per_core: f64) -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let date = std::process::Command::new("date")
            .args(["-u", "+%Y-%m-%d %H:%M UTC"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        Self { cores, cpu, date, argon2_per_core }
    }
}

/// The generated part of `docs/benchmarks.md`.
pub fn markdown(rows: &[Row], m: &Machine, quick: bool, size: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Measured {} on {} core(s) of `{}` ({}); {size}. argon2id (m=7 MiB, t=5, p=1): {:.1} hashes/s on one core.\n",
        m.date,
        m.cores,
        m.cpu,
        if quick { "`--quick`" } else { "full run" },
        m.argon2_per_core
    );
    s.push_str("| scenario | backend | rps | p50 ms | p99 ms | errors | server RSS MiB | baseline | baseline rps | ratio | target | verdict |\n");
    s.push_str(
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | --- |\n",
    );
    for r in rows {
        // A row compared with several baselines lists them in one cell each, a line apiece.
        let cells = |f: &dyn Fn(&Comparison) -> String| {
            if r.against.is_empty() {
                "-".to_owned()
            } else {
                r.against.iter().map(f).collect::<Vec<_>>().join("<br>")
            }
        };
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.scenario,
            r.backend,
            r.rps,
            opt(r.p50_ms, 2),
            opt(r.p99_ms, 2),
            r.errors,
            opt(r.server_rss_mib, 1),
            cells(&|c| c.baseline.clone()),
            cells(&|c| format!("{:.1}", c.baseline_rps)),
            cells(&|c| opt(c.ratio, 2)),
            r.targets_text(),
            verdict_text(r.verdict()),
        );
    }
    s
}

const START: &str = "<!-- bench:start (generated by `cargo xtask bench`) -->";
const END: &str = "<!-- bench:end -->";

/// Replaces the generated part of `docs/benchmarks.md` (between the markers), or appends it.
pub fn update_docs(path: &Path, generated: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".to_owned());
    let block = format!("{START}\n{generated}{END}");
    let new = match (text.find(START), text.find(END)) {
        (Some(a), Some(b)) if a < b => format!("{}{block}{}", &text[..a], &text[b + END.len()..]),
        _ => format!("{}\n{block}\n", text.trim_end()),
    };
    std::fs::write(path, new).map_err(|e| format!("{}: {e}", path.display()))
}

/// `tps = …` from pgbench's summary.
pub fn pgbench_tps(output: &str) -> Result<f64, String> {
    output
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("pgbench printed no `tps = `:\n{output}"))
}

/// Failed transactions from pgbench's summary (`number of failed transactions: N (…)`).
pub fn pgbench_failed(output: &str) -> u64 {
    output
        .lines()
        .find_map(|l| l.strip_prefix("number of failed transactions: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Latencies (µs) from a pgbench `-l` log: `client transaction latency script epoch us`.
pub fn pgbench_latencies_us(log: &str) -> Vec<f64> {
    log.lines().filter_map(|l| l.split_whitespace().nth(2)?.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn ratios_need_a_baseline() {
        assert_eq!(ratio(350.0, 1000.0), Some(0.35));
        assert_eq!(ratio(1.0, 0.0), None);
    }

    #[test]
    fn pgbench_output_and_logs_are_read() {
        let out = "transaction type: x.sql\nnumber of failed transactions: 3 (0.1%)\nlatency average = 9.1 ms\ntps = 1234.567 (without initial connection time)\n";
        assert!((pgbench_tps(out).unwrap() - 1234.567).abs() < 1e-9);
        assert_eq!(pgbench_failed(out), 3);
        assert!(pgbench_tps("nothing").is_err());
        assert_eq!(
            pgbench_latencies_us("0 1 2500 0 1700000000 5\n1 1 900 0 1700000000 6\n"),
            vec![2500.0, 900.0]
        );
    }

    #[test]
    fn docs_block_is_replaced_in_place() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("benchmarks.md");
        std::fs::write(&path, format!("# B\n\nintro\n\n{START}\nold\n{END}\n\nafter\n")).unwrap();
        update_docs(&path, "new\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("intro") && text.contains("after") && text.contains("new\n"));
        assert!(!text.contains("old"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn json_has_the_issue_fields() {
        let mut r = Row::measured(
            "get_me",
            "sqlite",
            &WrkSummary { requests: 100, seconds: 1.0, p50_ms: 1.0, p99_ms: 2.0, errors: 0 },
            20.0,
        );
        r.compare("baseline_poem_bare", 400.0, None);
        let v: serde_json::Value = serde_json::from_str(&to_json(&[r])).unwrap();
        let o = &v[0];
        for key in [
            "scenario",
            "backend",
            "rps",
            "p50_ms",
            "p99_ms",
            "errors",
            "server_rss_mib",
            "baseline",
            "baseline_rps",
            "ratio",
            "target",
            "verdict",
        ] {
            assert!(o.get(key).is_some(), "{key}");
        }
        assert_eq!(o["ratio"], serde_json::json!(0.25));
        assert_eq!(o["verdict"], serde_json::json!("-"));
    }

    #[test]
    fn verdicts_need_every_target_met() {
        let summary =
            WrkSummary { requests: 100, seconds: 1.0, p50_ms: 1.0, p99_ms: 30.0, errors: 0 };
        let mut r = Row::measured("get_me", "postgres", &summary, 20.0);
        r.compare("baseline_poem_bare", 400.0, Some(0.15));
        assert_eq!(r.verdict(), Some(true));
        r.compare("pgbench_get_me", 1000.0, Some(0.5));
        assert_eq!(r.verdict(), Some(false));
        assert_eq!(r.targets_text(), "≥ 0.15 of baseline_poem_bare<br>≥ 0.50 of pgbench_get_me");
        let table = markdown(
            &[r],
            &Machine { cores: 2, cpu: "x".into(), date: "d".into(), argon2_per_core: 1.0 },
            true,
            "s",
        );
        assert!(
            table.contains(
                "| baseline_poem_bare<br>pgbench_get_me | 400.0<br>1000.0 | 0.25<br>0.10 |"
            )
        );
        assert!(table.contains("| not met |"));
        let mut p = Row::measured("usage", "sqlite", &summary, 20.0);
        p.p99_target_ms = Some(25.0);
        assert_eq!(p.verdict(), Some(false));
        assert_eq!(Row::measured("x", "y", &summary, 1.0).verdict(), None);
    }
}
