//! wrk: the Lua scripts the bench generates for each scenario, and the parsing of what wrk
//! prints. Every script ends with a `done()` that prints one `BENCH-RESULT` line with the
//! numbers the report needs and one `BENCH-PERMILLE-US` line with the latency distribution
//! (for adding up slices, `paired.rs`), so nothing depends on wrk's human-readable layout except the
//! cross-check of its `Non-2xx or 3xx responses` line.

use std::fmt::Write as _;

/// What one wrk run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WrkSummary {
    /// Completed requests.
    pub requests: u64,
    /// Wall time of the run, in seconds.
    pub seconds: f64,
    /// Median latency, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, in milliseconds.
    pub p99_ms: f64,
    /// Responses with a status of 400 or more, plus connect / read / write errors and
    /// timeouts.
    pub errors: u64,
}

impl WrkSummary {
    /// Requests per second.
    pub fn rps(&self) -> f64 {
        if self.seconds > 0.0 { self.requests as f64 / self.seconds } else { 0.0 }
    }
}

/// Reads the `BENCH-RESULT` line of our `done()` (and wrk's own non-2xx count, if larger).
pub fn parse_output(output: &str) -> Result<WrkSummary, String> {
    let line = output
        .lines()
        .find(|l| l.starts_with("BENCH-RESULT "))
        .ok_or_else(|| format!("wrk printed no BENCH-RESULT line:\n{output}"))?;
    let field = |name: &str| -> Result<u64, String> {
        line.split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .ok_or_else(|| format!("BENCH-RESULT has no `{name}`: {line}"))?
            .1
            .parse::<u64>()
            .map_err(|e| format!("BENCH-RESULT `{name}`: {e}"))
    };
    let status = field("status")?.max(non_2xx(output));
    let errors = status + field("connect")? + field("read")? + field("write")? + field("timeout")?;
    Ok(WrkSummary {
        requests: field("requests")?,
        seconds: field("duration_us")? as f64 / 1e6,
        p50_ms: field("p50_us")? as f64 / 1e3,
        p99_ms: field("p99_us")? as f64 / 1e3,
        errors,
    })
}

/// The latency at every tenth of a percentile (0.1% … 100%), in milliseconds, from the
/// `BENCH-PERMILLE-US` line of our `done()` (empty without one).
pub fn permille_ms(output: &str) -> Vec<f64> {
    output
        .lines()
        .find_map(|l| l.strip_prefix("BENCH-PERMILLE-US "))
        .map(|l| l.split_whitespace().filter_map(|v| v.parse::<f64>().ok()).map(|us| us / 1e3))
        .map_or_else(Vec::new, Iterator::collect)
}

/// wrk's own `Non-2xx or 3xx responses: N` line (0 when absent).
pub fn non_2xx(output: &str) -> u64 {
    output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// The part every script shares: thread ids, a pick over `items` that gives each wrk thread
/// its own disjoint slice (so per-item state such as a profile's version stays right), and
/// the `done()` that prints our result line.
const PRELUDE: &str = r#"
local threads = {}
local counter = 0
local per_thread = 1
local nthreads = 2

-- With `PORTS` set (the scale-out scenario), thread t sends to the server on the t-th port.
function setup(thread)
  thread:set("tid", #threads)
  if PORTS then
    thread.addr = wrk.lookup("127.0.0.1", tostring(PORTS[#threads % #PORTS + 1]))[1]
  end
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(NTHREADS)
  per_thread = math.floor(#items / nthreads)
  if per_thread < 1 then per_thread = 1 end
  math.randomseed(os.time() + (tid or 0) * 7919)
end

-- The item for the next request and its index: thread t only uses indexes = t (mod nthreads).
local function pick()
  counter = counter + 1
  local idx = ((tid or 0) + nthreads * (counter % per_thread)) % #items
  return items[idx + 1], idx
end

local function unique()
  return string.format("%s-%d-%d-%d", NONCE, tid or 0, counter, math.random(1, 1000000000))
end

-- Statuses other than 2xx, by code (only scenario scripts record them: see `STATUSES`).
statuses = {}

function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    local st = t:get("statuses")
    if type(st) == "table" then
      for code, n in pairs(st) do counts[code] = (counts[code] or 0) + n end
    end
  end
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, code .. "=" .. n) end
  table.sort(parts)
  io.write("BENCH-STATUSES " .. table.concat(parts, " ") .. "\n")
  io.write(string.format(
    "BENCH-RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, math.floor(latency:percentile(50)),
    math.floor(latency:percentile(99)), summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout))
  local permille = {}
  for i = 1, 1000 do table.insert(permille, math.floor(latency:percentile(i / 10))) end
  io.write("BENCH-PERMILLE-US " .. table.concat(permille, " ") .. "\n")
end
"#;

/// Counts every status that is not 2xx. Defining `response()` makes wrk hand each response
/// to Lua, so the bare baseline's script leaves it out. A scenario may define `on_response`.
pub const STATUSES: &str = r#"
function response(status, headers, body)
  if status < 200 or status > 299 then
    statuses[status] = (statuses[status] or 0) + 1
  end
  if on_response then on_response(status, headers, body) end
end
"#;

/// The `BENCH-STATUSES` line: non-2xx statuses and their counts (`409=3 412=1`).
pub fn statuses(output: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix("BENCH-STATUSES"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// A Lua string literal (the values we embed are tokens, ids and emails: printable ASCII).
pub fn lua_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => {
                let _ = write!(out, "\\{}", u32::from(c) & 0xff);
            }
        }
    }
    out.push('"');
    out
}

/// A whole script: `items` (each a Lua expression), the prelude, then `body` (the scenario's
/// `request()` function, or nothing for wrk's default request).
pub fn script(items: &[String], threads: u32, nonce: &str, body: &str) -> String {
    let mut s = String::from("-- Generated by `cargo xtask bench`; do not edit.\n");
    let _ = writeln!(s, "NTHREADS = {threads}");
    let _ = writeln!(s, "NONCE = {}", lua_str(nonce));
    s.push_str("items = {\n");
    for item in items {
        let _ = writeln!(s, "  {item},");
    }
    if items.is_empty() {
        s.push_str("  \"\",\n");
    }
    s.push_str("}\n");
    s.push_str(PRELUDE);
    s.push_str(body);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 2s test @ http://127.0.0.1:9/api/v1/me
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.10ms    2.00ms  30.00ms   90.00%
  12000 requests in 2.00s, 3.00MB read
  Non-2xx or 3xx responses: 7
Requests/sec:   6000.00
Transfer/sec:      1.50MB
BENCH-RESULT requests=12000 duration_us=2000000 p50_us=4800 p99_us=21500 connect=0 read=1 write=0 status=5 timeout=2
";

    #[test]
    fn parses_the_result_line_and_takes_the_larger_non_2xx_count() {
        let s = parse_output(SAMPLE).unwrap();
        assert_eq!(s.requests, 12000);
        assert!((s.seconds - 2.0).abs() < 1e-9);
        assert!((s.rps() - 6000.0).abs() < 1e-9);
        assert!((s.p50_ms - 4.8).abs() < 1e-9);
        assert!((s.p99_ms - 21.5).abs() < 1e-9);
        // 7 non-2xx (wrk's line beats the 5 of our line) + 1 read error + 2 timeouts.
        assert_eq!(s.errors, 10);
    }

    #[test]
    fn a_missing_result_line_is_an_error_not_zero() {
        assert!(parse_output("Running 2s test\nRequests/sec: 10\n").is_err());
        assert!(parse_output("BENCH-RESULT requests=1 duration_us=x").is_err());
        assert_eq!(non_2xx("nothing here"), 0);
        assert_eq!(statuses("x\nBENCH-STATUSES 409=2 412=1\n"), "409=2 412=1");
        assert_eq!(statuses("BENCH-STATUSES \n"), "");
        assert!(permille_ms("nothing here").is_empty());
        assert_eq!(permille_ms("x\nBENCH-PERMILLE-US 1500 2000 9000\n"), vec![1.5, 2.0, 9.0]);
    }

    #[test]
    fn lua_strings_are_escaped() {
        assert_eq!(lua_str(r#"a"b\c"#), r#""a\"b\\c""#);
        let s = script(&[lua_str("t1")], 2, "n", "");
        assert!(s.contains("items = {\n  \"t1\",\n}"));
        assert!(s.contains("NTHREADS = 2"));
    }
}
