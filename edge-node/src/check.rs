//! `edge-node job --check FILE...`: every problem `bacalhau job run` and a cluster of the given
//! version would find in each file, printed with its field path; nothing runs.
use crate::args::TemplateOptions;
use jobspec::{CheckOptions, JobSpec, Problem};
use std::path::Path;

/// The problems of one file (template, YAML, types, validation), each with its field path.
pub fn check_file(file: &Path, template: &TemplateOptions, opts: &CheckOptions) -> Vec<Problem> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return vec![Problem::new("", None, format!("cannot read job file: {e}"))],
    };
    let host_env: Vec<(String, String)> = std::env::vars().collect();
    let values = match jobspec::template_values(
        &template.vars,
        template.env_pattern.as_deref(),
        &host_env,
    ) {
        Ok(v) => v,
        Err(e) => return vec![Problem::new("", None, e.to_string())],
    };
    let rendered = match jobspec::render(&text, &values) {
        Ok(r) => r,
        // The error's own text names the line.
        Err(e) => return vec![Problem::new("", None, e.to_string())],
    };
    match JobSpec::read(&rendered) {
        Ok(spec) => spec.check(opts),
        Err(problems) => problems,
    }
}

/// Checks every file; prints `FILE: PATH: problem` lines (stdout) and a summary (stderr).
/// Returns the exit code: 0 when no file has a problem, else 1.
pub fn run(files: &[std::path::PathBuf], template: &TemplateOptions, opts: &CheckOptions) -> u8 {
    let mut total = 0;
    for file in files {
        let problems = check_file(file, template, opts);
        for p in &problems {
            println!("{}: {}", file.display(), safe_text::inert(&p.to_string()));
        }
        total += problems.len();
    }
    eprintln!(
        "edge-node: checked {} file(s) for Bacalhau {}: {total} problem(s)",
        files.len(),
        opts.version
    );
    u8::from(total > 0)
}
