//! `--progress`: a bar on stderr, fed from the pipeline's monitor, and under
//! it one line per stage (its buffer's fill and what it is doing), redrawn
//! in place; nothing when stderr is not a terminal.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use weir_pipe::{LiveStage, Monitor, StageKind};

use crate::run::TICK;

/// A running progress display; shows nothing when stderr is not a terminal.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    stages: Vec<ProgressBar>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// One stage's line: its name, its buffer's fill, its state and amounts.
fn stage_line(s: &LiveStage) -> (u64, u64, String) {
    let amount = |n: u64| {
        if s.unit == "bytes" {
            crate::fmt::bytes(n)
        } else {
            format!("{n} items")
        }
    };
    let state = if s.ended { "done" } else { s.state.describe() };
    if s.kind == StageKind::Sink {
        let msg = format!("{state:<15} {} taken", amount(s.amount_in));
        return (0, 1, msg);
    }
    let msg = format!(
        "{state:<15} {} / {} buffered, {} out",
        amount(s.buffered as u64),
        amount(s.buffer_high as u64),
        amount(s.amount_out)
    );
    (s.buffered as u64, s.buffer_high.max(1) as u64, msg)
}

/// Starts a bar over `total` bytes (a spinner when the size is unknown),
/// with a line per stage of the run `monitor` watches.
pub(crate) fn start(monitor: Monitor, total: Option<u64>) -> Progress {
    if !std::io::stderr().is_terminal() {
        return Progress {
            bar: None,
            stages: Vec::new(),
            task: None,
        };
    }
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let bar = multi.add(bar);
    let template = if total.is_some() {
        "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}"
    } else {
        "{spinner} {bytes} {bytes_per_sec} {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    let live = monitor.stages();
    let width = live.iter().map(|s| s.name.len()).max().unwrap_or(5);
    let stage_style =
        ProgressStyle::with_template(&format!("  {{prefix:<{width}}} [{{bar:20}}] {{msg}}"))
            .ok()
            .map(|s| s.progress_chars("=> "));
    let stages: Vec<ProgressBar> = live
        .iter()
        .map(|s| {
            let b = multi.add(ProgressBar::new(1));
            if let Some(style) = &stage_style {
                b.set_style(style.clone());
            }
            b.set_prefix(s.name.clone());
            b
        })
        .collect();
    let (b, lines) = (bar.clone(), stages.clone());
    let task = tokio::spawn(async move {
        loop {
            b.set_position(monitor.bytes_in());
            b.set_message(format!(
                "buffered {}",
                crate::fmt::bytes(monitor.buffered() as u64)
            ));
            for (line, s) in lines.iter().zip(monitor.stages()) {
                let (pos, len, msg) = stage_line(&s);
                line.set_length(len);
                line.set_position(pos);
                line.set_message(msg);
            }
            tokio::time::sleep(TICK).await;
        }
    });
    Progress {
        bar: Some(bar),
        stages,
        task: Some(task),
    }
}

impl Progress {
    /// Stops updating. On success (`done`: the bytes the run read) the bar
    /// is drawn a last time at that total with nothing buffered, and left;
    /// on failure it is left where it stopped. The stage lines are cleared.
    pub(crate) async fn finish(self, done: Option<u64>) {
        if let Some(t) = self.task {
            // Wait until it has stopped: a refresh still running on another
            // worker would draw over the final figures.
            t.abort();
            let _ = t.await;
        }
        for line in self.stages {
            line.finish_and_clear();
        }
        if let Some(b) = self.bar {
            match done {
                Some(total) => {
                    if b.length().is_none_or(|len| len < total) {
                        b.set_length(total);
                    }
                    b.set_position(total);
                    b.set_message("buffered 0 B");
                    b.finish();
                }
                None => b.abandon(),
            }
        }
    }
}
