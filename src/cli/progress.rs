//! Progress bars for transfers: drawn on stderr when it is a terminal and the
//! command is not quiet, absent otherwise (pipes and CI logs stay clean).

use std::io::IsTerminal;

use crate::artifacts::remote::Progress;

/// A byte-counting progress bar, or nothing.
pub struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    /// A bar for `total` bytes labelled `what`, when stderr is a terminal.
    pub fn new(total: u64, what: &str, quiet: bool) -> Bar {
        if quiet || total == 0 || !std::io::stderr().is_terminal() {
            return Bar(None);
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
        Bar(Some(bar))
    }
}

impl Progress for Bar {
    fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(bytes);
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
