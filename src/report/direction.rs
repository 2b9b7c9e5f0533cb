//! Which way a metric improves: smaller is better (loss, error) or larger is
//! better (accuracy, F1), from the words of its name or from what the user said.
//!
//! The one place that decides a metric's direction; `compare`, its pull-request
//! selection and the report's pages all ask here.

use std::collections::BTreeMap;

use serde::Serialize;

/// Whether smaller or larger values of a metric are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Smaller is better (loss, error).
    Min,
    /// Larger is better (accuracy, F1).
    Max,
}

/// Name parts that mean smaller is better.
const MINIMIZE: &[&str] = &[
    "loss",
    "error",
    "err",
    "mae",
    "mse",
    "rmse",
    "mape",
    "perplexity",
    "ppl",
    "wer",
    "cer",
    "nll",
    "cost",
    "regret",
    "latency",
    "time",
    "fid",
];
/// Name parts that mean larger is better.
const MAXIMIZE: &[&str] = &[
    "acc",
    "accuracy",
    "f1",
    "auc",
    "roc",
    "precision",
    "recall",
    "r2",
    "bleu",
    "rouge",
    "map",
    "iou",
    "dice",
    "score",
    "reward",
    "return",
    "throughput",
    "top1",
    "top5",
    "ndcg",
    "mrr",
    "sharpe",
];

/// The direction a metric's name suggests: its last word that is a known
/// metric word decides (`val/loss` -> min, `top1_acc` -> max), else `None`.
pub fn infer(name: &str) -> Option<Direction> {
    let lower = name.to_ascii_lowercase();
    lower.split(|c: char| !c.is_ascii_alphanumeric()).rev().find_map(|word| {
        if MINIMIZE.contains(&word) {
            Some(Direction::Min)
        } else if MAXIMIZE.contains(&word) {
            Some(Direction::Max)
        } else {
            None
        }
    })
}

/// The direction of `name`: the user's choice in `overrides` if there is one,
/// else the one its name suggests ([`infer`]).
pub fn resolve(name: &str, overrides: &BTreeMap<String, Direction>) -> Option<Direction> {
    overrides.get(name).copied().or_else(|| infer(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_come_from_the_last_known_word() {
        assert_eq!(infer("val/loss"), Some(Direction::Min));
        assert_eq!(infer("train.acc"), Some(Direction::Max));
        assert_eq!(infer("top1_accuracy"), Some(Direction::Max));
        assert_eq!(infer("loss_scale_f1"), Some(Direction::Max));
        assert_eq!(infer("RMSE"), Some(Direction::Min));
        assert_eq!(infer("lr"), None);
        assert_eq!(infer("epoch"), None);
    }

    #[test]
    fn overrides_win_over_the_name() {
        let overrides = BTreeMap::from([("loss".to_owned(), Direction::Max)]);
        assert_eq!(resolve("loss", &overrides), Some(Direction::Max));
        assert_eq!(resolve("val/loss", &overrides), Some(Direction::Min));
        assert_eq!(resolve("lr", &overrides), None);
        assert_eq!(resolve("acc", &BTreeMap::new()), Some(Direction::Max));
    }
}
