//! Views of runs for people and programs: the serializable view models that
//! `list`, `show`, `compare` (and later `report`) render. Reads store types and
//! asks the store about history; never touches git itself.

pub mod chart;
pub mod columns;
pub mod compare;
pub mod compare_text;
pub mod direction;
pub mod filter;
pub mod inert;
pub mod model;
pub mod select;
pub mod site;
