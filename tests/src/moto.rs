//! The moto server: a real STS (AssumeRoleWithWebIdentity) for the credential-chain tests,
//! started on demand like LocalStack (see [`crate::service`]); `MOTO_ENDPOINT` points the
//! tests at an existing instance instead.
use std::sync::OnceLock;

use crate::service::Service;

/// Default endpoint, as `scripts/moto start` serves it.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:5000";

static STARTED: OnceLock<Result<(), String>> = OnceLock::new();

pub static MOTO: Service = Service {
    name: "the moto server",
    script: "moto",
    endpoint_var: "MOTO_ENDPOINT",
    default_endpoint: DEFAULT_ENDPOINT,
    health_path: "/moto-api/data.json",
    is_ready: |r| r.status == 200,
    started: &STARTED,
};

/// The endpoint of a running moto server (started if needed); panics saying what to do.
pub fn require() -> String {
    MOTO.require()
}
