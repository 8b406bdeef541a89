//! Bacalhau job specs, read the way `bacalhau job run` reads them.
//!
//! The pipeline is the CLI's: build the template values from `-V key=value` and `-E REGEX`
//! ([`template_values`]), render the file as a Go `text/template` with `missingkey=error`
//! ([`render`]), read the YAML as Go's JSON decoder would ([`JobSpec::parse`], or
//! [`JobSpec::read`] for every problem with its field path), then check what the CLI and a
//! cluster of a given version would refuse ([`JobSpec::validate`], [`JobSpec::check`]).
//! [`resolve_module_path`] maps a wasm task's `EntryModule` to a file on this host through
//! its input sources.
//!
//! Only the subsets the job files use are implemented; anything else is a clear error naming
//! the line, never a silent misreading: no YAML crate and no template engine are pulled in.
//!
//! Modules depend one way: `yaml`, `memory`, `regex`, `problem` and `version` stand alone;
//! `model` reads YAML into types; `paths` maps the model's paths; `validate` checks the
//! model using `paths` and `version`; `values` and `template` render before any of them.

mod error;
mod memory;
mod model;
mod paths;
mod problem;
mod regex;
mod template;
mod validate;
mod values;
mod version;
mod yaml;

pub use error::{Error, ErrorKind};
pub use memory::parse_memory;
pub use model::{Constraint, Engine, InputSource, JobSpec, Network, Port, Task};
pub use paths::{glob_match, path_is_under, resolve_module_path, AllowedPath};
pub use problem::Problem;
pub use template::render;
pub use validate::CheckOptions;
pub use values::{parse_template_vars, template_values};
pub use version::BacalhauVersion;
