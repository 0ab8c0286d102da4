//! weir-codecs: filled by a later issue.
