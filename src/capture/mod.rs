//! Capture: running a command as a tracked run. Launches the child, passes its
//! output through while capturing it, ingests its events, keeps the live
//! directory that makes a run survive its tracker, and commits the result
//! through `store`. Never renders anything for people.

pub mod child;
pub mod events;
pub mod finish;
pub(crate) mod json_line;
pub mod live;
pub mod metrics;
pub mod output;
pub mod params;
pub mod python;
pub mod recover;
pub mod run;
pub mod signals;
pub mod standalone;
