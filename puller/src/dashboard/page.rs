//! The page, compiled into the binary (no files to ship, no CDN, no build step).
pub const PAGE: &str = include_str!("page.html");
