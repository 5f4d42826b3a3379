//! Progress of a long command on stderr, the same for every command: a bar
//! on a terminal; without one (a Slurm log, CI) a plain line every few
//! seconds, so a log shows how far a job is without escape codes; nothing
//! with `--quiet`. Once the first iterations are timed, a run expected to
//! last long says how long up front.
//!
//! `PBRSIM_PROGRESS_SECONDS` sets the interval between plain lines
//! (default 5); a long run is one expected to last six intervals or more.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Seconds between plain progress lines when stderr is not a terminal.
const DEFAULT_INTERVAL: f64 = 5.0;

/// The progress of one command's work, counted in units (iterations, or
/// iterations times arms).
pub struct Progress {
    total: u64,
    unit: String,
    work: String,
    start: Instant,
    interval: Duration,
    display: Display,
    state: Mutex<State>,
}

enum Display {
    Quiet,
    Bar(ProgressBar),
    Lines,
}

struct State {
    done: u64,
    message: String,
    last_line: Instant,
    estimated: bool,
}

impl Progress {
    /// Progress towards `total` units of `unit` (e.g. "iterations"), the
    /// whole described as `work` in the time estimate ("10,000 iterations x
    /// 31 arms"); shows nothing when `quiet`.
    pub fn new(
        quiet: bool,
        total: u64,
        unit: impl Into<String>,
        work: impl Into<String>,
    ) -> Progress {
        let unit = unit.into();
        let interval = std::env::var("PBRSIM_PROGRESS_SECONDS")
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or(DEFAULT_INTERVAL);
        let display = if quiet {
            Display::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let template = format!(
                "{{spinner}} {{msg}}{{human_pos}}/{{human_len}} {unit} [{{bar:30}}] {{percent}}% elapsed {{elapsed}} eta {{eta}}"
            );
            bar.set_style(
                ProgressStyle::with_template(&template)
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            Display::Bar(bar)
        } else {
            Display::Lines
        };
        let start = Instant::now();
        Progress {
            total: total.max(1),
            unit,
            work: work.into(),
            start,
            interval: Duration::from_secs_f64(interval),
            display,
            state: Mutex::new(State {
                done: 0,
                message: String::new(),
                last_line: start,
                estimated: false,
            }),
        }
    }

    /// No time estimate (a run whose length is not known in advance).
    pub fn without_estimate(self) -> Progress {
        self.lock().estimated = true;
        self
    }

    /// `n` more units done.
    pub fn inc(&self, n: u64) {
        self.update(|done| done + n);
    }

    /// `done` units done in all.
    pub fn set(&self, done: u64) {
        self.update(|_| done);
    }

    fn update(&self, f: impl FnOnce(u64) -> u64) {
        if let Display::Quiet = self.display {
            return;
        }
        let mut state = self.lock();
        state.done = f(state.done);
        let done = state.done;
        let now = Instant::now();
        let elapsed = now - self.start;
        if !state.estimated && done > 0 && elapsed >= self.interval.min(Duration::from_secs(3)) {
            state.estimated = true;
            let expected = elapsed.as_secs_f64() * self.total as f64 / done as f64;
            if expected >= 6.0 * self.interval.as_secs_f64() {
                self.say(&format!(
                    "pbrsim: this will take about {} ({}); -n sets the iterations",
                    duration(expected),
                    self.work
                ));
            }
        }
        match &self.display {
            Display::Bar(bar) => bar.set_position(done.min(self.total)),
            Display::Lines if now - state.last_line >= self.interval => {
                state.last_line = now;
                let shown = done.min(self.total);
                let left =
                    elapsed.as_secs_f64() * (self.total - shown) as f64 / shown.max(1) as f64;
                eprintln!(
                    "pbrsim: {}{}% ({}/{} {}), {} elapsed, about {} left",
                    state.message,
                    100 * shown / self.total,
                    thousands(shown),
                    thousands(self.total),
                    self.unit,
                    duration(elapsed.as_secs_f64()),
                    duration(left)
                );
            }
            _ => {}
        }
    }

    /// Text shown before the count (a sweep's point, say).
    pub fn set_message(&self, message: String) {
        if let Display::Bar(bar) = &self.display {
            bar.set_message(message.clone());
        }
        self.lock().message = message;
    }

    /// Clears the bar.
    pub fn finish(self) {
        if let Display::Bar(bar) = &self.display {
            bar.finish_and_clear();
        }
    }

    fn say(&self, line: &str) {
        match &self.display {
            Display::Bar(bar) => bar.println(line),
            Display::Lines => eprintln!("{line}"),
            Display::Quiet => {}
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A line on stderr about what a command did: files written, shards run or
/// left to run (shown with `--quiet` too: a log keeps what a job did).
pub fn note(line: impl std::fmt::Display) {
    eprintln!("{line}");
}

/// A count with thousands separators.
pub fn thousands(n: u64) -> String {
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

/// A duration for reading: seconds, minutes, or hours and minutes.
fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", (s + 30) / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600 + 30) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::{duration, thousands};

    #[test]
    fn counts_and_durations_read_as_words() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(thousands(n), text);
        }
        for (s, text) in [
            (0.4, "0 s"),
            (59.6, "60 s"),
            (150.0, "3 min"),
            (7_300.0, "2 h 2 min"),
        ] {
            assert_eq!(duration(s), text);
        }
    }
}
