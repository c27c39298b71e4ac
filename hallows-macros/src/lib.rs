//! Procedural macros of Hallows.
