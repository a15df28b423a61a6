//! The measuring loop of the `peers` benchmark (`main.rs` says how to read the output).
//!
//! A group holds a few cases measured side by side. Each case is a routine that runs its
//! operation `n` times and returns the time of just those `n` runs, so that setup (entering
//! a scope, building a future, nesting contexts) stays outside the clock. Every case is
//! calibrated once so that one sample takes about [`SAMPLE_TIME`]; then the cases take
//! turns, one sample each per round, the order rotating every round, so that noise from
//! other work on the machine lands on all of them alike.
//!
//! On a machine too busy for medians (other builds on both cores: samples either run
//! alone or share the core, and the median lands on whichever half is larger), three
//! environment variables help: `BENCH_STAT=floor` judges the targets on each case's
//! fastest tenth of samples (its 10th percentile) instead of paired medians,
//! `BENCH_ROUNDS` sets the rounds per group (51), and `BENCH_SAMPLE_MS` the time of one
//! sample (2; shorter samples are less often interrupted).

use std::time::{Duration, Instant};

/// Rounds per group: every case gets this many samples (`BENCH_ROUNDS` overrides it).
const SAMPLES: usize = 51;
/// The aim for one sample (`BENCH_SAMPLE_MS` overrides it); calibration doubles `n` until
/// one run takes at least half of it, then scales it.
const SAMPLE_TIME: Duration = Duration::from_millis(2);
/// Iterations of each routine when run as a smoke test (`cargo test --benches`).
const SMOKE_ITERS: u64 = 3;

/// Runs the operation `n` times and returns the time it took.
pub(crate) type Routine<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

/// A quantity derived from one round of samples, in ns per operation.
#[derive(Clone, Copy)]
pub(crate) enum Term {
    /// The time of one case.
    Case(usize),
    /// What a wrapper adds: `wrapped - bare`, computed within each round.
    Overhead { wrapped: usize, bare: usize },
}

impl Term {
    fn eval(self, round: &[f64]) -> f64 {
        match self {
            Term::Case(i) => round[i],
            Term::Overhead { wrapped, bare } => round[wrapped] - round[bare],
        }
    }

    /// The same quantity from each case's fastest tenth of samples, unpaired.
    fn floor(self, rounds: &[Vec<f64>]) -> f64 {
        let p10 = |c: usize| percentile(rounds.iter().map(|round| round[c]), 0.1);
        match self {
            Term::Case(i) => p10(i),
            Term::Overhead { wrapped, bare } => p10(wrapped) - p10(bare),
        }
    }
}

/// How the `->` lines and the verdicts summarize the rounds.
#[derive(Clone, Copy, PartialEq)]
enum Stat {
    /// The median of the per-round values (ratios of samples taken back to back).
    PairedMedian,
    /// From each case's 10th percentile: the samples that ran undisturbed.
    Floor,
}

/// A ratio reported under a group: a target when it has a limit, information otherwise.
struct Check {
    what: &'static str,
    num: Term,
    den: Term,
    limit: Option<f64>,
}

/// A cost reported under a group in ns (an overhead, usually): a target when it has a
/// limit (for targets stated as "at most +N ns over the bare service"), information
/// otherwise.
struct NanosCheck {
    what: &'static str,
    term: Term,
    limit: Option<f64>,
}

/// Cases measured side by side; the first is the peer the others are compared with.
pub(crate) struct Group<'a> {
    key: &'static str,
    title: &'static str,
    cases: Vec<(&'static str, Routine<'a>)>,
    checks: Vec<Check>,
    nanos_checks: Vec<NanosCheck>,
}

impl<'a> Group<'a> {
    pub(crate) fn new(key: &'static str, title: &'static str) -> Self {
        Self {
            key,
            title,
            cases: Vec::new(),
            checks: Vec::new(),
            nanos_checks: Vec::new(),
        }
    }

    /// Adds a case; its index (from 0, the peer) is what [`Term`]s name.
    pub(crate) fn case(
        mut self,
        label: &'static str,
        routine: impl FnMut(u64) -> Duration + 'a,
    ) -> Self {
        self.cases.push((label, Box::new(routine)));
        self
    }

    /// A target: `num / den` must be at most `limit`.
    pub(crate) fn target(mut self, what: &'static str, num: Term, den: Term, limit: f64) -> Self {
        self.checks.push(Check {
            what,
            num,
            den,
            limit: Some(limit),
        });
        self
    }

    /// A ratio shown for information, with no target.
    pub(crate) fn info(mut self, what: &'static str, num: Term, den: Term) -> Self {
        self.checks.push(Check {
            what,
            num,
            den,
            limit: None,
        });
        self
    }

    /// A target in ns: the median over the rounds of `term` (an [`Term::Overhead`],
    /// computed within each round) must be at most `limit_ns`.
    // Used by the feature-gated groups only.
    #[cfg_attr(not(any(feature = "axum", feature = "sqlx-sqlite")), allow(dead_code))]
    pub(crate) fn target_ns(mut self, what: &'static str, term: Term, limit_ns: f64) -> Self {
        self.nanos_checks.push(NanosCheck {
            what,
            term,
            limit: Some(limit_ns),
        });
        self
    }

    /// A cost in ns shown for information, with no target.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn info_ns(mut self, what: &'static str, term: Term) -> Self {
        self.nanos_checks.push(NanosCheck {
            what,
            term,
            limit: None,
        });
        self
    }
}

/// One target's outcome, kept for the summary: a ratio, or ns when `nanos`.
struct Verdict {
    group: &'static str,
    what: &'static str,
    /// The ratio, or the ns when `nanos`.
    value: f64,
    limit: f64,
    nanos: bool,
}

/// Reads the command line, runs the groups it selects, and prints the tables.
pub(crate) struct Harness {
    filter: Option<String>,
    /// `cargo bench` passes `--bench`; without it (`cargo test --benches`) every routine
    /// runs a few iterations, unmeasured, to prove it works.
    measure: bool,
    rounds: usize,
    sample_time: Duration,
    stat: Stat,
    verdicts: Vec<Verdict>,
    started: Instant,
}

impl Harness {
    pub(crate) fn from_args() -> Self {
        let mut filter = None;
        let mut measure = false;
        for arg in std::env::args().skip(1) {
            if arg == "--bench" {
                measure = true;
            } else if !arg.starts_with('-') && filter.is_none() {
                filter = Some(arg);
            }
        }
        let env = |name: &str| std::env::var(name).ok();
        let rounds = env("BENCH_ROUNDS").map_or(SAMPLES, |v| {
            v.parse().expect("BENCH_ROUNDS: a number of rounds")
        });
        let sample_time = env("BENCH_SAMPLE_MS").map_or(SAMPLE_TIME, |v| {
            Duration::from_secs_f64(v.parse::<f64>().expect("BENCH_SAMPLE_MS: milliseconds") / 1e3)
        });
        let stat = match env("BENCH_STAT").as_deref() {
            None | Some("median") => Stat::PairedMedian,
            Some("floor") => Stat::Floor,
            Some(other) => panic!("BENCH_STAT: `median` or `floor`, not `{other}`"),
        };
        Self {
            filter,
            measure,
            rounds: rounds.max(1),
            sample_time,
            stat,
            verdicts: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Whether the group with this key is selected by the filter (a substring of the key).
    pub(crate) fn wants(&self, key: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| key.contains(f))
    }

    pub(crate) fn run(&mut self, mut group: Group<'_>) {
        if !self.wants(group.key) {
            return;
        }
        if !self.measure {
            for (_, routine) in &mut group.cases {
                routine(SMOKE_ITERS);
            }
            println!("smoke ok: {}", group.key);
            return;
        }

        let iters: Vec<u64> = group
            .cases
            .iter_mut()
            .map(|(_, routine)| calibrate(routine, self.sample_time))
            .collect();
        let count = group.cases.len();
        // rounds[r][c]: ns per operation of case `c` in round `r`.
        let mut rounds = vec![vec![0.0; count]; self.rounds];
        for (r, round) in rounds.iter_mut().enumerate() {
            for k in 0..count {
                let c = (r + k) % count;
                let elapsed = (group.cases[c].1)(iters[c]);
                round[c] = elapsed.as_nanos() as f64 / iters[c] as f64;
            }
        }

        if std::env::var_os("BENCH_RAW").is_some() {
            for (c, (label, _)) in group.cases.iter().enumerate() {
                let raw: Vec<String> = rounds.iter().map(|r| format!("{:.2}", r[c])).collect();
                eprintln!("raw {label} (n = {}): {}", iters[c], raw.join(" "));
            }
        }
        println!("\n== [{}] {} ==", group.key, group.title);
        println!(
            "  {:<66} {:>10} {:>8} {:>7} {:>9}",
            "case", "median ns", "vs peer", "spread", "p10 ns"
        );
        let medians: Vec<f64> = (0..count)
            .map(|c| median(rounds.iter().map(|round| round[c])))
            .collect();
        for (c, (label, _)) in group.cases.iter().enumerate() {
            let samples: Vec<f64> = rounds.iter().map(|round| round[c]).collect();
            let peer = if c == 0 { " (peer)" } else { "" };
            println!(
                "  {:<66} {:>10.2} {:>7.2}x {:>6.1}% {:>9.2}",
                format!("{label}{peer}"),
                medians[c],
                medians[c] / medians[0],
                100.0 * iqr(&samples) / medians[c],
                percentile(samples.iter().copied(), 0.1),
            );
        }
        if self.stat == Stat::Floor {
            println!("  (the lines below are from each case's 10th percentile: BENCH_STAT=floor)");
        }
        for check in &group.checks {
            let (num, den, ratio) = match self.stat {
                Stat::PairedMedian => (
                    median(rounds.iter().map(|round| check.num.eval(round))),
                    median(rounds.iter().map(|round| check.den.eval(round))),
                    // Paired: a ratio per round, from samples taken back to back, then the
                    // median. The machine drifts between fast and slow phases; this
                    // cancels the drift.
                    median(
                        rounds
                            .iter()
                            .map(|round| check.num.eval(round) / check.den.eval(round)),
                    ),
                ),
                Stat::Floor => {
                    let (num, den) = (check.num.floor(&rounds), check.den.floor(&rounds));
                    (num, den, num / den)
                }
            };
            let verdict = match check.limit {
                Some(limit) => {
                    self.verdicts.push(Verdict {
                        group: group.key,
                        what: check.what,
                        value: ratio,
                        limit,
                        nanos: false,
                    });
                    format!("target <= {limit:.2}x: {}", met(ratio, limit))
                }
                None => "(information)".to_owned(),
            };
            println!(
                "  -> {:<60} {num:>7.2} / {den:>6.2} ns -> {ratio:>5.2}x  {verdict}",
                check.what
            );
        }
        for check in &group.nanos_checks {
            let ns = match self.stat {
                Stat::PairedMedian => median(rounds.iter().map(|round| check.term.eval(round))),
                Stat::Floor => check.term.floor(&rounds),
            };
            let (q1, q3) = quartiles(rounds.iter().map(|round| check.term.eval(round)));
            let verdict = match check.limit {
                Some(limit) => {
                    self.verdicts.push(Verdict {
                        group: group.key,
                        what: check.what,
                        value: ns,
                        limit,
                        nanos: true,
                    });
                    format!("target <= {limit:+.0} ns: {}", met(ns, limit))
                }
                None => "(information)".to_owned(),
            };
            // The quartiles of the per-round values: how far one round strays.
            println!(
                "  -> {:<60} {ns:>+7.1} ns (rounds {q1:+.0}..{q3:+.0})  {verdict}",
                check.what
            );
        }
    }

    pub(crate) fn finish(self) {
        if !self.measure {
            return;
        }
        println!("\n== summary of targets ==");
        println!(
            "  {:<12} {:<62} {:>7} {:>8}  verdict",
            "group", "target", "value", "limit"
        );
        for v in &self.verdicts {
            let (value, limit) = if v.nanos {
                (format!("{:+.0}ns", v.value), format!("{:+.0}ns", v.limit))
            } else {
                (format!("{:.2}x", v.value), format!("{:.2}x", v.limit))
            };
            println!(
                "  {:<12} {:<62} {value:>7} {limit:>8}  {}",
                v.group,
                v.what,
                met(v.value, v.limit)
            );
        }
        let missed = self.verdicts.iter().filter(|v| v.value > v.limit).count();
        println!(
            "  {} of {} targets met; whole run {:.1} s",
            self.verdicts.len() - missed,
            self.verdicts.len(),
            self.started.elapsed().as_secs_f64()
        );
    }
}

fn met(ratio: f64, limit: f64) -> &'static str {
    if ratio <= limit {
        "MET"
    } else {
        "MISSED"
    }
}

/// The number of iterations that makes one sample of `routine` take about `sample_time`.
/// Also warms the routine up.
fn calibrate(routine: &mut Routine<'_>, sample_time: Duration) -> u64 {
    let mut n = 1_u64;
    while routine(n) < sample_time / 2 {
        n *= 2;
    }
    // One slow run (a page fault, a preemption) must not shrink every sample: scale by the
    // fastest of a few runs.
    let fastest = (0..3).map(|_| routine(n)).min().unwrap_or(sample_time);
    let scaled = n as f64 * sample_time.as_secs_f64() / fastest.as_secs_f64().max(1e-9);
    (scaled as u64).max(1)
}

fn sorted(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let values = sorted(values);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Interquartile range: the spread of the middle half of the samples.
fn iqr(samples: &[f64]) -> f64 {
    let (q1, q3) = quartiles(samples.iter().copied());
    q3 - q1
}

/// The first and third quartiles.
fn quartiles(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let values = sorted(values);
    let n = values.len();
    (values[n / 4], values[(3 * n) / 4])
}

/// The value below which a fraction `q` of the values lie (nearest rank).
fn percentile(values: impl Iterator<Item = f64>, q: f64) -> f64 {
    let values = sorted(values);
    let rank = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}
