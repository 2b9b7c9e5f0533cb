//! Views of runs for people and programs: the serializable view models that
//! `list`, `show` (and later `compare` and `report`) render. Reads store types,
//! never git.

pub mod model;
