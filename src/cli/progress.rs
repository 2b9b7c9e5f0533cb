//! Progress bars for transfers: drawn on stderr when it is a terminal and the
//! command is not quiet, absent otherwise (pipes and CI logs stay clean).

use std::io::IsTerminal;
use std::sync::OnceLock;

use crate::artifacts::remote::Progress;
use crate::share::{self, Direction};

/// A byte-counting progress bar, or nothing.
pub struct Bar {
    quiet: bool,
    bar: OnceLock<indicatif::ProgressBar>,
}

impl Bar {
    /// A bar for `total` bytes labelled `what`, when stderr is a terminal.
    pub fn new(total: u64, what: &str, quiet: bool) -> Bar {
        let bar = Bar::waiting(quiet);
        bar.start(total, what);
        bar
    }

    /// A bar not drawn yet: a push or pull starts it when it knows the size
    /// of its transfer ([`share::Progress`]).
    pub fn waiting(quiet: bool) -> Bar {
        Bar { quiet, bar: OnceLock::new() }
    }

    fn start(&self, total: u64, what: &str) {
        if self.quiet || total == 0 || !std::io::stderr().is_terminal() {
            return;
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::stderr(),
        );
        let style = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .map(|s| s.progress_chars("=> "));
        if let Ok(style) = style {
            bar.set_style(style);
        }
        bar.set_message(crate::text::line(what).into_owned());
        // Drawn at once: short transfers finish before the first timed redraw.
        bar.tick();
        let _ = self.bar.set(bar);
    }

    fn clear(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn advance(&self, bytes: u64) {
        if let Some(bar) = self.bar.get() {
            bar.inc(bytes);
        }
    }
}

impl share::Progress for Bar {
    fn begin(&self, total: u64, direction: Direction) {
        let what = match direction {
            Direction::Upload => "Uploading artifacts",
            Direction::Download => "Downloading artifacts",
        };
        self.start(total, what);
    }

    fn end(&self) {
        self.clear();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.clear();
    }
}
