//! The plan: every selected setting with its current value, the value it should have, and
//! whether that means a change, nothing, or a skip (and why). plan, apply and check all start
//! from it, so what `plan` shows is exactly what `apply` does and `check` verifies.
use crate::daemon_json::Document;
use crate::error::{Error, ErrorKind};
use crate::layout::{self, Layout};
use crate::settings::{Kind, Setting};
use crate::{limits, sys, sysctl};
use std::fs;
use std::io;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Already as wanted.
    Met,
    /// apply will change it.
    Change,
    /// Cannot be handled on this host; the text says why. Not an error.
    Skipped(String),
}

/// A kernel parameter apply can write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlTarget {
    /// The kernel's text before any change, byte for byte.
    pub raw: String,
    pub desired: Vec<u64>,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub setting: Setting,
    pub current: String,
    pub target: String,
    pub state: State,
    /// Set for kernel parameters that are present, writable and readable as numbers.
    pub sysctl: Option<SysctlTarget>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub nodes: u64,
    pub items: Vec<Item>,
    /// daemon.json as it is now (`None` when absent), parsed; only read when a docker setting
    /// is selected.
    pub daemon: Option<Document>,
}

impl Plan {
    /// Reads the current state of every setting in `settings`.
    pub fn build(nodes: u64, settings: Vec<Setting>, layout: &Layout) -> Result<Plan, Error> {
        let wants_docker = settings
            .iter()
            .any(|s| matches!(s.kind, Kind::Docker { .. }));
        let daemon = if wants_docker {
            read_daemon_json(layout)?
        } else {
            None
        };
        let limits_text = read_optional(&layout.file(layout::LIMITS_FILE))?;
        let mut items = Vec::with_capacity(settings.len());
        for setting in settings {
            let item = match &setting.kind {
                Kind::Sysctl(goal) => {
                    let state = sysctl::read(&layout.proc_sys, &setting.name).map_err(|e| {
                        Error::io("read", &sysctl::path(&layout.proc_sys, &setting.name), e)
                    })?;
                    sysctl_item(setting.clone(), *goal, state)
                }
                Kind::Nofile(n) => nofile_item(setting.clone(), *n, limits_text.as_deref()),
                Kind::Docker { path, value } => {
                    let current = daemon.as_ref().and_then(|d| d.get(path));
                    let met = current == Some(value);
                    Item {
                        current: current.map_or("(unset)".to_string(), |v| v.to_string()),
                        target: value.to_string(),
                        state: if met { State::Met } else { State::Change },
                        sysctl: None,
                        setting: setting.clone(),
                    }
                }
            };
            items.push(item);
        }
        Ok(Plan {
            nodes,
            items,
            daemon,
        })
    }

    pub fn changes(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.state == State::Change)
    }

    /// The plan as a table: setting, current → target, state, reason.
    pub fn render(&self) -> String {
        let width = |f: fn(&Item) -> usize, min: usize| {
            self.items.iter().map(f).max().unwrap_or(min).max(min)
        };
        let name_w = width(|i| i.setting.name.len(), 7);
        let cur_w = width(|i| i.current.len(), 7);
        let tgt_w = width(|i| i.target.len(), 6);
        let mut out = format!(
            "{:name_w$}  {:cur_w$}    {:tgt_w$}  {:6}  REASON\n",
            "SETTING", "CURRENT", "TARGET", "ACTION"
        );
        for item in &self.items {
            let (action, note) = match &item.state {
                State::Met => ("ok", String::new()),
                State::Change => ("change", String::new()),
                State::Skipped(why) => ("skip", format!("{why}; skipped. ")),
            };
            out.push_str(&format!(
                "{:name_w$}  {:cur_w$} -> {:tgt_w$}  {:6}  {note}{}\n",
                item.setting.name, item.current, item.target, action, item.setting.reason
            ));
        }
        let changes = self.changes().count();
        let skipped = self
            .items
            .iter()
            .filter(|i| matches!(i.state, State::Skipped(_)))
            .count();
        out.push_str(&format!(
            "\n{} setting(s) for {} nodes: {changes} to change, {} already met, {skipped} skipped\n",
            self.items.len(),
            self.nodes,
            self.items.len() - changes - skipped
        ));
        out
    }
}

fn sysctl_item(setting: Setting, goal: crate::settings::Goal, state: sysctl::State) -> Item {
    let skipped = |current: String, why: &str| Item {
        current,
        target: goal.describe(),
        state: State::Skipped(why.to_string()),
        sysctl: None,
        setting: setting.clone(),
    };
    let raw = match state {
        sysctl::State::Missing => {
            return skipped("(missing)".into(), "not available on this kernel")
        }
        sysctl::State::ReadOnly(raw) => {
            return skipped(
                show(&raw),
                "read-only here (the kernel keeps it for the initial namespace or the host)",
            )
        }
        sysctl::State::Writable(raw) => raw,
    };
    let Some(current) = sysctl::numbers(&raw) else {
        return skipped(show(&raw), "current value is not a list of numbers");
    };
    let desired = goal.desired(&current);
    Item {
        current: show(&raw),
        target: desired
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        state: if desired == current {
            State::Met
        } else {
            State::Change
        },
        sysctl: Some(SysctlTarget { raw, desired }),
        setting: setting.clone(),
    }
}

fn nofile_item(setting: Setting, n: u64, limits_text: Option<&str>) -> Item {
    let configured = limits_text.and_then(limits::configured);
    let current = match configured {
        Some(v) => v.to_string(),
        None => match sys::open_file_limit() {
            Ok(l) => format!("(unset; session {}/{})", l.soft, l.hard),
            Err(_) => "(unset)".to_string(),
        },
    };
    let met = configured.is_some_and(|v| v >= n);
    Item {
        current,
        target: n.to_string(),
        state: if met { State::Met } else { State::Change },
        sysctl: None,
        setting,
    }
}

/// A kernel value for display: whitespace collapsed to single spaces.
fn show(raw: &str) -> String {
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A file's text, or `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, Error> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Error::io("read", path, io::Error::other("not UTF-8 text"))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

fn read_daemon_json(layout: &Layout) -> Result<Option<Document>, Error> {
    let path = layout.file(layout::DAEMON_JSON);
    let Some(text) = read_optional(&path)? else {
        return Ok(None);
    };
    Document::parse(&text)
        .map(Some)
        .map_err(|reason| Error::new(ErrorKind::DaemonJson { path, reason }))
}
