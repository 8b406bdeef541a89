//! The SQS queue the proxies send to and the puller drains: `up` makes sure it exists before
//! starting them (GetQueueUrl, then CreateQueue unless `--no-create-queue`), because a puller
//! started on a missing queue exits at once ("The specified queue does not exist") and the
//! proxies could only report unhealthy.
use crate::error::{Error, ErrorKind};
use crate::profile::Service;
use crate::template::Vars;
use sigv4::sqs::{SqsClient, SqsConfig};

/// What `up` did about the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Existed,
    Created,
}

/// The queue's name: the last path segment of its URL (`.../ACCOUNT/NAME`).
pub fn queue_name(queue_url: &str) -> Result<String, Error> {
    let path = queue_url
        .split_once("://")
        .map_or(queue_url, |(_, rest)| rest);
    // Skip the authority: the name is in the path.
    let path = path.split_once('/').map_or("", |(_, p)| p);
    let name = path.split('/').rfind(|s| !s.is_empty()).unwrap_or("");
    if name.is_empty() || name.contains(['?', '#']) {
        return Err(Error::new(ErrorKind::Queue(format!(
            "cannot tell the queue name from {queue_url:?} (expected http(s)://HOST/ACCOUNT/NAME)"
        ))));
    }
    Ok(name.to_string())
}

/// Ensures the queue at `queue_url` exists, talking to `endpoint_url` (empty: the queue URL's
/// own host) with the credentials and region `service` is given, so the queue is made by the
/// identity that will use it.
pub fn ensure(
    queue_url: &str,
    endpoint_url: &str,
    service: &Service,
    vars: &Vars,
    create: bool,
) -> Result<Outcome, Error> {
    let name = queue_name(queue_url)?;
    let queue_err = |m: String| Error::new(ErrorKind::Queue(m));
    let mut client = SqsClient::new(config(endpoint_url, service, vars).map_err(queue_err)?);
    match client.get_queue_url(&name) {
        Ok(_) => return Ok(Outcome::Existed),
        Err(e) if is_missing_queue(&e) => {}
        Err(e) => {
            return Err(queue_err(format!(
                "cannot look up queue {name} (GetQueueUrl): {e}"
            )))
        }
    }
    if !create {
        return Err(queue_err(format!(
            "queue {name} does not exist ({queue_url}) and --no-create-queue forbids creating \
             it; create it first or leave out --no-create-queue"
        )));
    }
    client
        .create_queue(&name, &[])
        .map_err(|e| queue_err(format!("cannot create queue {name} (CreateQueue): {e}")))?;
    Ok(Outcome::Created)
}

/// AWS answers a missing queue with `AWS.SimpleQueueService.NonExistentQueue` (query
/// protocol code, also sent in JSON's `x-amzn-query-error`) or `QueueDoesNotExist`.
fn is_missing_queue(e: &sigv4::sqs::Error) -> bool {
    match e.kind() {
        sigv4::sqs::ErrorKind::Service { code, .. } => {
            code.ends_with("NonExistentQueue") || code.ends_with("QueueDoesNotExist")
        }
        _ => false,
    }
}

/// Region and credentials from the service's environment as the profile gives it (the
/// provisioner's own environment when the profile sets none).
fn config(endpoint_url: &str, service: &Service, vars: &Vars) -> Result<SqsConfig, String> {
    // The service's own variables (expanded) first, then the provisioner's environment; the
    // AWS SDKs' chain reads what it needs from that (keys, profile, web identity, ...).
    let service_env: Vec<(String, String)> = service
        .env
        .iter()
        .filter_map(|(k, v)| vars.expand_env_value(v).map(|v| (k.clone(), v)))
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let env = sigv4::credentials::Env::from_fn(move |name| {
        service_env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    });
    let region = env.get("AWS_REGION").unwrap_or_else(|| "us-east-1".to_string());
    let credentials =
        sigv4::credentials::resolve(&env, Some(&region), None).map_err(|e| e.to_string())?;
    let endpoint = Some(endpoint_url.trim())
        .filter(|e| !e.is_empty())
        .map(String::from);
    Ok(SqsConfig::new(region, endpoint, credentials))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_last_path_segment() {
        let name = |u: &str| queue_name(u).map_err(|e| e.to_string());
        assert_eq!(
            name("http://172.17.0.1:4566/000000000000/edge-sensors"),
            Ok("edge-sensors".into())
        );
        assert_eq!(
            name("https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo/"),
            Ok("q.fifo".into())
        );
        assert!(name("http://host:4566").is_err());
        assert!(name("http://host:4566/").is_err());
    }
}
