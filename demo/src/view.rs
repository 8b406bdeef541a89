//! The live view: per region the nodes up, the current version's colour and emoji,
//! messages/s, and what the puller has received. Redrawn in place on a terminal; a plain
//! status line every few seconds otherwise. Region names and icons are shown inert (they
//! can come from job files and messages); the swatches are our own colours.
use crate::summary::{mark, Row};
use std::fmt::Write;
use std::time::Duration;

/// One region's line in the live view.
#[derive(Debug, Clone, Default)]
pub struct RegionLine {
    pub region: String,
    pub nodes_up: usize,
    pub nodes_total: usize,
    pub version: i64,
    pub color: String,
    pub icon: String,
    /// Messages answered 2xx (acknowledged or filtered) per second, over the last refresh.
    pub delivered_per_sec: f64,
    pub unacked: u64,
    pub received: u64,
    pub received_per_sec: f64,
}

/// The whole screen, as text.
pub fn render(step: &str, elapsed: Duration, lines: &[RegionLine], color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "edge sensors demo  {:>5.0}s  step: {step}",
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "{:<7} {:>9}  {:<10} {:>9} {:>8} {:>10} {:>8}",
        "region", "nodes up", "version", "acked/s", "unacked", "received", "recv/s"
    );
    for l in lines {
        let mark = mark(&l.color, &l.icon, color);
        let _ = writeln!(
            out,
            "{:<7} {:>4}/{:<4}  v{:<2} {:<6} {:>9.1} {:>8} {:>10} {:>8.1}",
            safe_text::inert(&l.region),
            l.nodes_up,
            l.nodes_total,
            l.version,
            mark,
            l.delivered_per_sec,
            l.unacked,
            l.received,
            l.received_per_sec,
        );
    }
    out
}

/// Clears the terminal and draws `screen` at the top left.
pub fn redraw(screen: &str) {
    print!("\x1b[H\x1b[2J{screen}");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
}

/// A one-line status for logs and non-terminal output.
pub fn status_line(elapsed: Duration, lines: &[RegionLine]) -> String {
    let parts: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{} {}/{} up v{} {:.0}/s unacked {} recv {}",
                safe_text::inert(&l.region),
                l.nodes_up,
                l.nodes_total,
                l.version,
                l.delivered_per_sec,
                l.unacked,
                l.received
            )
        })
        .collect();
    format!("[{:>4.0}s] {}", elapsed.as_secs_f64(), parts.join(" | "))
}

/// Rows worth a swatch in the final table: only those with any traffic.
pub fn visible(rows: &[Row]) -> Vec<Row> {
    rows.iter().filter(|r| r.nodes > 0).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_region() {
        let lines = vec![
            RegionLine {
                region: "us".into(),
                nodes_up: 3,
                nodes_total: 3,
                version: 2,
                icon: "⚡".into(),
                ..Default::default()
            },
            RegionLine {
                region: "eu".into(),
                nodes_up: 0,
                nodes_total: 3,
                version: 1,
                unacked: 12,
                ..Default::default()
            },
        ];
        let screen = render("disconnect eu", Duration::from_secs(12), &lines, false);
        assert!(screen.contains("disconnect eu"));
        assert!(screen.contains("us") && screen.contains("⚡") && screen.contains("3/3"));
        assert!(screen.contains("0/3") && screen.contains("12"));
        let line = status_line(Duration::from_secs(3), &lines);
        assert!(
            line.contains("eu 0/3 up v1") && line.contains("unacked 12"),
            "{line}"
        );
    }

    #[test]
    fn hostile_text_is_escaped_on_the_live_view() {
        let lines = vec![RegionLine {
            region: "us\x1b[0m".into(),
            icon: "\x1b[2J".into(),
            color: "#FF0000".into(),
            ..Default::default()
        }];
        let plain = render("step", Duration::from_secs(1), &lines, false);
        assert!(!plain.contains('\x1b'), "{plain:?}");
        assert!(
            plain.contains("us\\u{1b}[0m") && plain.contains("\\u{1b}[2J"),
            "{plain}"
        );
        let coloured = render("step", Duration::from_secs(1), &lines, true);
        assert_eq!(
            coloured.matches('\x1b').count(),
            2,
            "only the swatch: {coloured:?}"
        );
        assert!(!status_line(Duration::from_secs(1), &lines).contains('\x1b'));
    }
}
