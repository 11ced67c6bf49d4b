//! The measuring harness shared by the benchmarks: timing one call, interleaving the
//! sides of a comparison, summarising samples, and printing the lines, ratios and
//! verdicts in one format.
//!
//! It exists instead of a benchmark framework because every comparison here needs its
//! subject and baseline interleaved in the same run (the machines are noisy) and the
//! setup of each call kept out of its time, which each side's closure does itself.

use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
pub(crate) struct Stat {
    pub(crate) median: Duration,
    pub(crate) p90: Duration,
    pub(crate) max: Duration,
    pub(crate) mean: Duration,
    pub(crate) n: usize,
}

fn stat(mut samples: Vec<Duration>) -> Stat {
    assert!(!samples.is_empty(), "at least one sample");
    samples.sort();
    let n = samples.len();
    let median = if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2
    };
    let p90 = samples[((n * 9) / 10).min(n - 1)];
    let mean = samples.iter().sum::<Duration>() / n as u32;
    Stat {
        median,
        p90,
        max: samples[n - 1],
        mean,
        n,
    }
}

/// Runs `rounds` rounds of a block of each side, rotating which side goes first. Each
/// closure times its own call and returns the duration, so setup stays out.
pub(crate) fn interleave_n(
    rounds: usize,
    block: usize,
    sides: &mut [&mut dyn FnMut() -> Duration],
) -> Vec<Stat> {
    let mut samples = vec![Vec::with_capacity(rounds * block); sides.len()];
    for round in 0..rounds {
        for k in 0..sides.len() {
            let side = (round + k) % sides.len();
            samples[side].extend((0..block).map(|_| sides[side]()));
        }
    }
    samples.into_iter().map(stat).collect()
}

/// [`interleave_n`] for a subject and its baseline.
pub(crate) fn interleave(
    rounds: usize,
    block: usize,
    mut subject: impl FnMut() -> Duration,
    mut baseline: impl FnMut() -> Duration,
) -> (Stat, Stat) {
    let stats = interleave_n(rounds, block, &mut [&mut subject, &mut baseline]);
    (stats[0], stats[1])
}

pub(crate) fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let out = f();
    (t.elapsed(), out)
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
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

pub(crate) fn line(side: &str, what: &str, s: &Stat) {
    println!(
        "    {side:<9}{what:<47} median {:>10}  p90 {:>10}  max {:>10}  mean {:>10}  n={}",
        ms(s.median),
        ms(s.p90),
        ms(s.max),
        ms(s.mean),
        s.n
    );
}

pub(crate) fn verdict(ratio: f64, target: Option<f64>) -> String {
    match target {
        Some(t) if ratio <= t => format!("{ratio:.3}x   target <= {t:.1}x   PASS"),
        Some(t) => format!("{ratio:.3}x   target <= {t:.1}x   OVER"),
        None => format!("{ratio:.3}x   (informational, no target)"),
    }
}

pub(crate) fn compare(subject: (&str, &Stat), baseline: (&str, &Stat), target: Option<f64>) {
    line("subject", subject.0, subject.1);
    line("baseline", baseline.0, baseline.1);
    let ratio = subject.1.median.as_secs_f64() / baseline.1.median.as_secs_f64();
    println!("    ratio    {}", verdict(ratio, target));
}
