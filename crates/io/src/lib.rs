//! weir-io: filled by a later issue.
