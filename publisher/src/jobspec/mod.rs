//! Bacalhau job specs: template rendering, parsing and validation (being written).
