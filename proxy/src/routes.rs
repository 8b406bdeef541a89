//! What each request gets: `POST /send` is validated, filtered and (usually) forwarded;
//! `GET /health` and `GET /metrics` are answered at once; anything else is 404 or 405.
use crate::envelope::{Extras, Rules};
use crate::filter::{Filter, Verdict};
use crate::http::Request;
use crate::response::Response;
use json_fields::{Field, Invalid};
use serde_json::json;

pub const ROUTE_SEND: usize = 0;
pub const ROUTE_HEALTH: usize = 1;
pub const ROUTE_METRICS: usize = 2;
pub const ROUTE_OTHER: usize = 3;

#[derive(Debug, PartialEq)]
pub enum Action {
    Respond(Response),
    /// Forward this body (the request's bytes, verbatim) to SQS with these extras, answer
    /// when it is acked.
    Forward(String, Extras),
    Health,
    Metrics,
}

/// The route index for metrics, by path alone.
/// Every top-level field of a message the proxy reads: the supersede filter's `hostname` and
/// `job_submission_time`, the FIFO group and deduplication ids' `region`, `execution_id` and
/// `sequence` (attributes use a subset). The rest of a body is checked, not kept.
pub(crate) const READ_FIELDS: [&str; 5] = [
    "hostname",
    "job_submission_time",
    "region",
    "execution_id",
    "sequence",
];

pub fn route_of(req: &Request) -> usize {
    match path_only(&req.path) {
        "/send" => ROUTE_SEND,
        "/health" => ROUTE_HEALTH,
        "/metrics" => ROUTE_METRICS,
        _ => ROUTE_OTHER,
    }
}

fn path_only(target: &str) -> &str {
    target.split_once('?').map_or(target, |(p, _)| p)
}

pub fn route(req: Request, filter: &Filter, rules: &Rules) -> Action {
    let allowed = match route_of(&req) {
        ROUTE_SEND if req.method == "POST" => return send(req.body, filter, rules),
        ROUTE_SEND => "POST",
        ROUTE_HEALTH if req.method == "GET" => return Action::Health,
        ROUTE_METRICS if req.method == "GET" => return Action::Metrics,
        ROUTE_HEALTH | ROUTE_METRICS => "GET",
        _ => {
            return Action::Respond(Response::error(
                404,
                &format!("no route {}", path_only(&req.path)),
            ))
        }
    };
    Action::Respond(
        Response::error(
            405,
            &format!("{} not allowed here; use {allowed}", req.method),
        )
        .with_header("Allow", allowed.to_string()),
    )
}

fn send(body: Vec<u8>, filter: &Filter, rules: &Rules) -> Action {
    // The body is kept as received (SQS gets these exact bytes); parsing only validates it
    // and reads the filter fields.
    let body = match String::from_utf8(body) {
        Ok(b) => b,
        Err(_) => return Action::Respond(Response::error(400, "body is not UTF-8")),
    };
    let message = match json_fields::top_level(&body, &READ_FIELDS) {
        Ok(m) => m,
        Err(Invalid::NotAnObject) => {
            return Action::Respond(Response::error(400, "body must be a JSON object"))
        }
        Err(Invalid::Json(e)) => {
            return Action::Respond(Response::error(400, &format!("invalid JSON: {e}")))
        }
    };
    match filter.check(&message) {
        Verdict::Forward => {
            let extras = rules.extras(&body, &message);
            let size = body.len() + extras.size();
            if size > rules.max_message_bytes {
                // The body alone fits (the HTTP layer checked it); its attributes do not.
                return Action::Respond(Response::error(
                    413,
                    &format!(
                        "message of {size} bytes with its attributes exceeds the queue's \
                         {} byte limit",
                        rules.max_message_bytes
                    ),
                ));
            }
            Action::Forward(body, extras)
        }
        Verdict::Superseded { newest } => Action::Respond(Response::json(
            200,
            &json!({
                "status": "filtered",
                "reason": "a newer job_submission_time was seen for this hostname",
                "hostname": message.get("hostname").map(Field::to_value),
                "job_submission_time": message.get("job_submission_time").map(Field::to_value),
                "newest_job_submission_time": newest,
            }),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Attribute, GroupBy};

    fn rules() -> Rules {
        Rules {
            fifo: None,
            attributes: Vec::new(),
            proxy_region: "r".into(),
            max_message_bytes: 262_144,
        }
    }

    fn req(method: &str, path: &str, body: &[u8]) -> Request {
        Request {
            id: 0,
            method: method.to_string().into(),
            path: path.to_string().into(),
            authorization: None,
            body: body.to_vec(),
        }
    }

    fn status(a: Action) -> u16 {
        match a {
            Action::Respond(r) => r.status,
            other => panic!("expected an immediate answer, got {other:?}"),
        }
    }

    #[test]
    fn send_forwards_the_exact_bytes() {
        let f = Filter::new(10);
        let body = "{ \"icon_name\": \"😀\", \"x\": 1.50 }";
        assert_eq!(
            route(req("POST", "/send", body.as_bytes()), &f, &rules()),
            Action::Forward(body.to_string(), Extras::default())
        );
    }

    #[test]
    fn send_adds_the_extras_and_refuses_what_attributes_take_over_the_limit() {
        let f = Filter::new(10);
        let rules = Rules {
            fifo: Some(GroupBy::Hostname),
            attributes: vec![Attribute::Hostname],
            proxy_region: "r".into(),
            max_message_bytes: 64,
        };
        let body = "{\"hostname\":\"h\"}";
        match route(req("POST", "/send", body.as_bytes()), &f, &rules) {
            Action::Forward(b, extras) => {
                assert_eq!(b, body);
                assert_eq!(extras.group_id.as_deref(), Some("h"));
                assert_eq!(extras.attributes.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        let long = format!("{{\"hostname\":\"{}\"}}", "h".repeat(30));
        match route(req("POST", "/send", long.as_bytes()), &f, &rules) {
            Action::Respond(r) => {
                assert_eq!(r.status, 413);
                assert!(String::from_utf8_lossy(&r.body).contains("64 byte limit"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn send_rejects_non_objects_invalid_json_and_bad_utf8() {
        let f = Filter::new(10);
        for body in [&b"[1,2]"[..], b"\"s\"", b"{", b"", b"{\"a\":\xff}"] {
            assert_eq!(
                status(route(req("POST", "/send", body), &f, &rules())),
                400,
                "{body:?}"
            );
        }
    }

    #[test]
    fn superseded_message_is_answered_filtered() {
        let f = Filter::new(10);
        let m = |t: u32| format!("{{\"hostname\":\"h\",\"job_submission_time\":{t}}}");
        assert!(matches!(
            route(req("POST", "/send", m(2).as_bytes()), &f, &rules()),
            Action::Forward(..)
        ));
        match route(req("POST", "/send", m(1).as_bytes()), &f, &rules()) {
            Action::Respond(r) => {
                assert_eq!(r.status, 200);
                let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                assert_eq!(v["status"], "filtered");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_method_is_405_with_allow_and_unknown_path_404() {
        let f = Filter::new(10);
        match route(req("GET", "/send", b""), &f, &rules()) {
            Action::Respond(r) => {
                assert_eq!(r.status, 405);
                assert!(r.headers.contains(&("Allow", "POST".to_string())));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            status(route(req("DELETE", "/health", b""), &f, &rules())),
            405
        );
        assert_eq!(status(route(req("GET", "/nope", b""), &f, &rules())), 404);
        assert_eq!(
            route(req("GET", "/health?x=1", b""), &f, &rules()),
            Action::Health
        );
        assert_eq!(
            route(req("GET", "/metrics", b""), &f, &rules()),
            Action::Metrics
        );
    }
}
