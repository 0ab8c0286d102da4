//! weir-pipe: filled by a later issue.
