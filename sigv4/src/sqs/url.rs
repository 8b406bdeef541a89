//! Absolute `http(s)://` URLs as SQS uses them (queue URLs and endpoint overrides): the
//! workspace's one URL parser, in its strict endpoint form (`http1::url::Url::parse`).
pub use http1::url::{Scheme, Url};
