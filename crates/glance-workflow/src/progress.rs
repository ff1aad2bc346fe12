//! Progress reporting: per-stage base counters shared with the stages; on a terminal an
//! indicatif bar per stage (bases, bases/s) plus the input bar (bytes, ETA), otherwise
//! one plain log line every `log_interval` seconds; nothing with `quiet`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A named counter a stage advances.
#[derive(Debug)]
pub struct Counter {
    /// Stage name.
    pub name: &'static str,
    /// Bases (or, for the input, compressed bytes) done.
    pub done: AtomicU64,
}

impl Counter {
    /// A shared counter.
    pub fn new(name: &'static str) -> Arc<Counter> {
        Arc::new(Counter {
            name,
            done: AtomicU64::new(0),
        })
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
}

/// Where messages and progress go.
pub struct Progress {
    /// The bars on a terminal, kept for the run's length.
    _bars: Option<MultiProgress>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl Progress {
    /// Prints nothing.
    pub fn quiet() -> Progress {
        Progress {
            _bars: None,
            stop: Arc::new(AtomicBool::new(false)),
            ticker: None,
        }
    }

    /// Progress for `input` (bytes out of `total_bytes`) and `stages` (bases).
    pub fn start(
        quiet: bool,
        interval: f64,
        input: Arc<Counter>,
        total_bytes: u64,
        stages: Vec<Arc<Counter>>,
    ) -> Progress {
        if quiet {
            return Progress::quiet();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let t0 = Instant::now();
        if std::io::stderr().is_terminal() {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let input_bar = multi.add(ProgressBar::new(total_bytes.max(1)));
            if let Ok(s) = ProgressStyle::with_template(
                "{prefix:>7} [{bar:30}] {binary_bytes}/{binary_total_bytes} {elapsed_precise} ETA {eta}",
            ) {
                input_bar.set_style(s.progress_chars("=> "));
            }
            input_bar.set_prefix("input");
            let bars: Vec<ProgressBar> = stages
                .iter()
                .map(|c| {
                    let b = multi.add(ProgressBar::new_spinner());
                    if let Ok(s) =
                        ProgressStyle::with_template("{prefix:>7} {human_pos} bases ({per_sec})")
                    {
                        b.set_style(s);
                    }
                    b.set_prefix(c.name);
                    b
                })
                .collect();
            let ticker = std::thread::spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    input_bar.set_position(input.get());
                    for (b, c) in bars.iter().zip(&stages) {
                        b.set_position(c.get());
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                input_bar.finish_and_clear();
                for b in bars {
                    b.finish_and_clear();
                }
            });
            return Progress {
                _bars: Some(multi),
                stop,
                ticker: Some(ticker),
            };
        }
        let ticker = std::thread::spawn(move || {
            let mut next = Duration::from_secs_f64(interval);
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                let el = t0.elapsed();
                if el < next {
                    continue;
                }
                next += Duration::from_secs_f64(interval);
                let secs = el.as_secs_f64();
                let frac = input.get() as f64 / total_bytes.max(1) as f64;
                let eta = if frac > 0.0 {
                    secs * (1.0 - frac) / frac
                } else {
                    f64::NAN
                };
                let mut line = format!(
                    "glance run: {secs:.0} s, input {:.0}% (ETA {eta:.0} s)",
                    100.0 * frac
                );
                for c in &stages {
                    let n = c.get();
                    line.push_str(&format!(
                        "; {} {n} bases ({:.3} Mb/s)",
                        c.name,
                        n as f64 / secs / 1e6
                    ));
                }
                log::info!("{line}");
            }
        });
        Progress {
            _bars: None,
            stop,
            ticker: Some(ticker),
        }
    }

    /// Stops the bars or log lines.
    pub fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
