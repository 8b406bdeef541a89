//! Bacalhau job specs, read the way `bacalhau job run` reads them.
//!
//! The pipeline is the CLI's: build the template values from `-V key=value` and `-E REGEX`
//! ([`template_values`]), render the file as a Go `text/template` with `missingkey=error`
//! ([`render`]), parse the YAML ([`JobSpec::parse`], keys case-insensitive), then check what the
//! orchestrator would refuse ([`JobSpec::validate`]). [`resolve_module_path`] maps a wasm
//! task's `entryModule` to a file on this host through its input sources.
//!
//! Only the subsets the job files use are implemented; anything else is a clear error naming
//! the line, never a silent misreading: no YAML crate and no template engine are pulled in.

mod error;
mod model;
mod paths;
mod regex;
mod template;
mod validate;
mod values;
mod yaml;

pub use error::{Error, ErrorKind};
pub use model::{Constraint, Engine, InputSource, JobSpec, Network, Port, Task};
pub use paths::{parse_memory, resolve_module_path};
pub use template::render;
pub use values::template_values;
