//! One progress bar per region while edge nodes start. On a terminal the bars are redrawn in
//! place; otherwise (CI logs, pipes) a plain line is printed when a step completes, so logs
//! stay readable.
use std::io::{IsTerminal, Write};

const WIDTH: usize = 30;

/// Progress of every region.
#[derive(Debug)]
pub struct Progress {
    rows: Vec<Row>,
    tty: bool,
    drawn: bool,
}

#[derive(Debug)]
struct Row {
    region: String,
    done: u64,
    total: u64,
    failed: u64,
}

impl Progress {
    /// `rows` are (region, already done, total).
    pub fn new(rows: &[(String, u64, u64)]) -> Progress {
        Progress {
            rows: rows
                .iter()
                .map(|(r, d, t)| Row {
                    region: r.clone(),
                    done: *d,
                    total: *t,
                    failed: 0,
                })
                .collect(),
            tty: std::io::stderr().is_terminal(),
            drawn: false,
        }
    }

    /// Records one container finishing (successfully or not).
    pub fn tick(&mut self, region: &str, ok: bool) {
        if let Some(row) = self.rows.iter_mut().find(|r| r.region == region) {
            if ok {
                row.done += 1;
            } else {
                row.failed += 1;
            }
        }
        if self.tty {
            self.redraw();
        }
    }

    /// End of a batch step (or the whole run): plain-text mode prints the state here.
    pub fn step_done(&mut self) {
        if self.tty {
            self.redraw();
        } else {
            let mut err = std::io::stderr().lock();
            for row in &self.rows {
                let _ = writeln!(err, "{}", render(row));
            }
        }
    }

    fn redraw(&mut self) {
        let mut err = std::io::stderr().lock();
        if self.drawn {
            // Move the cursor back up over the bars drawn last time.
            let _ = write!(err, "\x1b[{}A", self.rows.len());
        }
        for row in &self.rows {
            let _ = writeln!(err, "\x1b[2K{}", render(row));
        }
        let _ = err.flush();
        self.drawn = true;
    }
}

fn render(row: &Row) -> String {
    let filled = if row.total == 0 {
        WIDTH
    } else {
        (row.done.min(row.total) as usize * WIDTH) / row.total as usize
    };
    let bar: String = "#".repeat(filled) + &".".repeat(WIDTH - filled);
    let failed = if row.failed > 0 {
        format!(" ({} failed)", row.failed)
    } else {
        String::new()
    };
    format!(
        "{:<3} [{bar}] {}/{} running{failed}",
        row.region, row.done, row.total
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_bar_with_counts() {
        let row = Row {
            region: "us".into(),
            done: 15,
            total: 30,
            failed: 1,
        };
        let text = render(&row);
        assert!(text.starts_with("us  ["), "{text}");
        assert!(text.contains(&"#".repeat(15)), "{text}");
        assert!(text.ends_with("15/30 running (1 failed)"), "{text}");
        let empty = Row {
            region: "as".into(),
            done: 0,
            total: 0,
            failed: 0,
        };
        assert!(render(&empty).contains(&"#".repeat(WIDTH)));
    }
}
