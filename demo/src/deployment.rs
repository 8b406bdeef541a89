//! One deployment of the scenario: the job file, its visual identity and the runner process
//! executing it. Shared by the scenario (which starts deployments) and the monitor (which
//! watches them), so that neither has to know the other's module.
use crate::children::Service;
use std::path::PathBuf;

/// One running (or queued) job and the runner process executing it.
pub struct Deployment {
    pub job_file: &'static str,
    pub region: &'static str,
    pub version: i64,
    pub color: &'static str,
    pub icon: &'static str,
    pub stats_file: PathBuf,
    pub runner: Option<Service>,
}
