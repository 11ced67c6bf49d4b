//! The measuring harness shared by the benchmarks: summarising samples, reading a
//! process's memory and CPU time from `/proc`, and printing sizes, ratios and verdicts
//! in one format (the format of core/benches/store).
//!
//! It exists instead of a benchmark framework because these benchmarks count bytes and
//! round trips, and time a server in another process under concurrent load: what they
//! need is percentiles of many samples and `/proc`, not per-call iteration control.

use std::time::{Duration, Instant};

/// Percentiles of a set of durations.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stat {
    pub(crate) p50: Duration,
    pub(crate) p90: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
    pub(crate) mean: Duration,
    pub(crate) n: usize,
}

pub(crate) fn stat(mut samples: Vec<Duration>) -> Stat {
    assert!(!samples.is_empty(), "at least one sample");
    samples.sort();
    let n = samples.len();
    let at = |q: f64| samples[((n as f64 * q).ceil() as usize).clamp(1, n) - 1];
    Stat {
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: samples[n - 1],
        mean: samples.iter().sum::<Duration>() / n as u32,
        n,
    }
}

/// The median of a few byte counts (they barely vary: the median reads as "typical").
pub(crate) fn median(mut values: Vec<u64>) -> u64 {
    assert!(!values.is_empty(), "at least one value");
    values.sort_unstable();
    values[values.len() / 2]
}

pub(crate) fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let out = f();
    (t.elapsed(), out)
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

pub(crate) fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

pub(crate) fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Kibibytes as mebibytes, for memory.
pub(crate) fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

pub(crate) fn verdict(ratio: f64, target: Option<f64>) -> String {
    match target {
        Some(t) if ratio <= t => format!("{ratio:.3}x   target <= {t}x   PASS"),
        Some(t) => format!("{ratio:.3}x   target <= {t}x   OVER"),
        None => format!("{ratio:.3}x   (informational, no target)"),
    }
}

/// An absolute target: `value <= limit`.
pub(crate) fn within(value: u64, limit: u64, unit: &str) -> String {
    let word = if value <= limit { "PASS" } else { "OVER" };
    format!(
        "{} {unit}   target <= {} {unit}   {word}",
        group(value),
        group(limit)
    )
}

pub(crate) fn latency_line(side: &str, what: &str, s: &Stat) {
    println!(
        "    {side:<9}{what:<40} p50 {:>10}  p90 {:>10}  p99 {:>10}  max {:>10}  mean {:>10}  n={}",
        ms(s.p50),
        ms(s.p90),
        ms(s.p99),
        ms(s.max),
        ms(s.mean),
        s.n
    );
}

/// Memory of a process, from `/proc/PID/status`, in KiB.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Memory {
    /// Resident now.
    pub(crate) rss: u64,
    /// Highest resident so far ("high water mark").
    pub(crate) hwm: u64,
    /// Resident anonymous memory (the heap, stacks): what the process allocated, as
    /// opposed to its mapped executable and libraries.
    pub(crate) anon: u64,
}

pub(crate) fn memory(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status reads");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss: field("VmRSS:"),
        hwm: field("VmHWM:"),
        anon: field("RssAnon:"),
    }
}

/// CPU time (user + system) a process has used so far, from `/proc/PID/stat`.
pub(crate) fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat reads");
    // The command name (field 2) is in parentheses and may hold spaces: count from
    // the closing one. utime and stime are fields 14 and 15, in clock ticks.
    let rest = &stat[stat.rfind(')').expect("a command name") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // Linux reports these in USER_HZ, 100 per second on every architecture it runs on.
    Duration::from_millis(ticks * 10)
}
