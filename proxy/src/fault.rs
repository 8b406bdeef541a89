//! Fault injection for the fault tests, honoured by debug builds only: a release binary never
//! reads the variable, so it has no way to be told to fail. `PROXY_DEBUG_FAULT=WHEN:MARKER` makes a forwarder panic
//! when it holds a batch with a body containing MARKER, WHEN being `panic-before-send` (SQS
//! never saw the batch: every message in it must get 503) or `panic-after-send` (SQS
//! answered: accepted messages must still get their 200, the rest 503). The test suite runs
//! debug binaries, so it can kill a forwarder the way a bug would, without a test-only
//! build of the proxy.
use crate::batcher::Job;

pub const ENV: &str = "PROXY_DEBUG_FAULT";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    BeforeSend,
    AfterSend,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    stage: Stage,
    marker: String,
}

impl Fault {
    /// The armed fault, if this is a debug build and the variable names one.
    pub fn from_env() -> Result<Option<Fault>, String> {
        if !cfg!(debug_assertions) {
            return Ok(None);
        }
        match std::env::var(ENV) {
            Ok(spec) if !spec.is_empty() => Fault::parse(&spec).map(Some),
            _ => Ok(None),
        }
    }

    fn parse(spec: &str) -> Result<Fault, String> {
        let (when, marker) = spec.split_once(':').unwrap_or((spec, ""));
        let stage = match when {
            "panic-before-send" => Stage::BeforeSend,
            "panic-after-send" => Stage::AfterSend,
            _ => return Err(format!("{ENV}: unknown fault {when:?}")),
        };
        if marker.is_empty() {
            return Err(format!("{ENV}: {when} needs a marker: {when}:MARKER"));
        }
        Ok(Fault {
            stage,
            marker: marker.to_string(),
        })
    }

    pub fn describe(&self) -> String {
        format!("{:?} when a body contains {:?}", self.stage, self.marker)
    }

    /// Panics, as a bug in the forwarder would, if this fault fires here.
    pub fn check(&self, stage: Stage, batch: &[Job]) {
        if stage == self.stage && batch.iter().any(|j| j.body.contains(&self.marker)) {
            panic!("injected fault ({ENV}): {:?}", self.stage);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_two_stages_and_refuses_the_rest() {
        assert_eq!(
            Fault::parse("panic-before-send:X").unwrap().stage,
            Stage::BeforeSend
        );
        assert_eq!(
            Fault::parse("panic-after-send:X").unwrap().stage,
            Stage::AfterSend
        );
        assert!(Fault::parse("panic-before-send").is_err());
        assert!(Fault::parse("explode:X").is_err());
    }
}
