//! `--progress`: a bar on stderr, fed from the pipeline's monitor.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use weir_pipe::Monitor;

use crate::run::TICK;

/// A running progress bar; shows nothing when stderr is not a terminal.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Starts a bar over `total` bytes (a spinner when the size is unknown).
pub(crate) fn start(monitor: Monitor, total: Option<u64>) -> Progress {
    if !std::io::stderr().is_terminal() {
        return Progress {
            bar: None,
            task: None,
        };
    }
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr());
    let template = if total.is_some() {
        "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}"
    } else {
        "{spinner} {bytes} {bytes_per_sec} {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    let b = bar.clone();
    let task = tokio::spawn(async move {
        loop {
            b.set_position(monitor.bytes_in());
            b.set_message(format!(
                "buffered {}",
                crate::fmt::bytes(monitor.buffered() as u64)
            ));
            tokio::time::sleep(TICK).await;
        }
    });
    Progress {
        bar: Some(bar),
        task: Some(task),
    }
}

impl Progress {
    /// Stops updating. On success (`done`: the bytes the run read) the bar
    /// is drawn a last time at that total with nothing buffered, and left;
    /// on failure it is left where it stopped.
    pub(crate) async fn finish(self, done: Option<u64>) {
        if let Some(t) = self.task {
            // Wait until it has stopped: a refresh still running on another
            // worker would draw over the final figures.
            t.abort();
            let _ = t.await;
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
