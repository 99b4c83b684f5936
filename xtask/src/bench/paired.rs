//! Paired measurement: a scenario and the baselines its targets name are loaded in short
//! slices that alternate (the order rotated every round), so that the ratio a target asks for
//! compares the same minutes of the machine. Measured minutes apart, a ratio on these shared
//! machines moved by a factor of two between runs (the bare endpoint at 40,801 req/s in one
//! run and 114,414 in another), which no change of ours could be told from.
//!
//! A side's slices add up to one rate (their counts over their seconds) and one latency
//! distribution: each slice reports its latency at every tenth of a percentile, each point
//! standing for a thousandth of the slice's requests, and the merged percentiles are read off
//! those weighted points (exact to a tenth of a percentile rank).

/// One slice of one side: how much it did in how long, and its latency distribution.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slice {
    /// Requests completed (or, for the argon2 baseline, hashes × cores).
    pub count: f64,
    /// Wall time of the slice, in seconds.
    pub seconds: f64,
    /// Errored requests.
    pub errors: u64,
    /// Latency in milliseconds at 0.1%, 0.2%, … 100% of the slice's requests; empty when the
    /// side measures none.
    pub permille_ms: Vec<f64>,
}

impl Slice {
    /// A slice whose every request's latency (µs, any order) is known: pgbench's log, the
    /// rusqlite baseline.
    pub fn from_latencies_us(seconds: f64, errors: u64, mut latencies_us: Vec<f64>) -> Self {
        latencies_us.sort_by(f64::total_cmp);
        let permille_ms = if latencies_us.is_empty() {
            Vec::new()
        } else {
            (1..=1000)
                .filter_map(|i| super::report::percentile(&latencies_us, f64::from(i) / 10.0))
                .map(|us| us / 1e3)
                .collect()
        };
        Self { count: latencies_us.len() as f64, seconds, errors, permille_ms }
    }
}

/// A side's slices added up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merged {
    pub rps: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub errors: u64,
}

/// Adds up `slices`: their counts over their seconds, and the 50th and 99th percentiles of
/// their requests' latencies.
pub fn merge(slices: &[Slice]) -> Merged {
    let count: f64 = slices.iter().map(|s| s.count).sum();
    let seconds: f64 = slices.iter().map(|s| s.seconds).sum();
    let mut points: Vec<(f64, f64)> = slices
        .iter()
        .filter(|s| !s.permille_ms.is_empty())
        .flat_map(|s| {
            let weight = s.count / s.permille_ms.len() as f64;
            s.permille_ms.iter().map(move |ms| (*ms, weight))
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = points.iter().map(|p| p.1).sum();
    let at = |p: f64| {
        let mut seen = 0.0;
        points.iter().find(|(_, w)| {
            seen += w;
            seen >= total * p / 100.0 - 1e-9
        })
    };
    let percentile = |p: f64| if total > 0.0 { at(p).map(|(ms, _)| *ms) } else { None };
    Merged {
        rps: if seconds > 0.0 { count / seconds } else { 0.0 },
        p50_ms: percentile(50.0),
        p99_ms: percentile(99.0),
        errors: slices.iter().map(|s| s.errors).sum(),
    }
}

/// Something measured for a given number of seconds.
pub type Side<'a> = Box<dyn FnMut(u32) -> Result<Slice, String> + 'a>;

/// Runs `rounds` rounds of one `secs`-second slice per side, round `r` starting with side
/// `r mod n`, calling `settle` after each slice (so that work a slice left queued in the
/// server does not run in the next one); each side's slices, in the order of `sides`.
pub fn run(
    sides: &mut [Side<'_>],
    rounds: u32,
    secs: u32,
    mut settle: impl FnMut(),
) -> Result<Vec<Vec<Slice>>, String> {
    let n = sides.len();
    let mut slices = vec![Vec::new(); n];
    for round in 0..rounds as usize {
        for i in (0..n).map(|j| (round + j) % n) {
            slices[i].push(sides[i](secs)?);
            settle();
        }
    }
    Ok(slices)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(count: f64, seconds: f64, ms: f64) -> Slice {
        Slice { count, seconds, errors: 1, permille_ms: vec![ms; 1000] }
    }

    #[test]
    fn merged_rates_are_counts_over_seconds() {
        let m = merge(&[flat(1_000.0, 2.0, 1.0), flat(3_000.0, 2.0, 1.0)]);
        assert!((m.rps - 1_000.0).abs() < 1e-9);
        assert_eq!(m.errors, 2);
        assert_eq!(merge(&[]).rps, 0.0);
        assert_eq!(merge(&[]).p50_ms, None);
    }

    #[test]
    fn merged_percentiles_weigh_each_slice_by_its_requests() {
        // 9,000 requests at 1 ms and 1,000 at 10 ms: the median is 1 ms, the p99 10 ms.
        let m = merge(&[flat(9_000.0, 2.0, 1.0), flat(1_000.0, 2.0, 10.0)]);
        assert_eq!((m.p50_ms, m.p99_ms), (Some(1.0), Some(10.0)));
        // 995 at 1 ms and 5 at 10 ms: the p99 stays at 1 ms.
        let m = merge(&[flat(995.0, 1.0, 1.0), flat(5.0, 1.0, 10.0)]);
        assert_eq!(m.p99_ms, Some(1.0));
    }

    #[test]
    fn known_latencies_give_exact_percentiles() {
        let s = Slice::from_latencies_us(1.0, 0, (1..=1000).rev().map(f64::from).collect());
        assert_eq!(s.count, 1000.0);
        let m = merge(&[s]);
        assert_eq!((m.p50_ms, m.p99_ms), (Some(0.5), Some(0.99)));
        assert!(Slice::from_latencies_us(1.0, 0, Vec::new()).permille_ms.is_empty());
    }

    #[test]
    fn rounds_rotate_which_side_goes_first() {
        let order = std::cell::RefCell::new(Vec::new());
        let side = |name: char| -> Side<'_> {
            let order = &order;
            Box::new(move |_| {
                order.borrow_mut().push(name);
                Ok(Slice::default())
            })
        };
        let mut sides = [side('a'), side('b'), side('c')];
        let mut settled = 0;
        let slices = run(&mut sides, 3, 1, || settled += 1).unwrap();
        drop(sides);
        assert_eq!(order.into_inner(), "abcbcacab".chars().collect::<Vec<_>>());
        assert_eq!(settled, 9);
        assert!(slices.iter().all(|s| s.len() == 3));
    }
}
