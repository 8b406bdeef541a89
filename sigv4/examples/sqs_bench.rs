//! Benchmark for the sigv4 crate, run by hand (see bench/sigv4/run):
//!
//! 1. signing throughput: signs a typical SQS SendMessage request N times with the key cache
//!    (what the client does) and without it;
//! 2. SQS round trips against an endpoint (LocalStack by default): SendMessageBatch of 10,
//!    then ReceiveMessage + DeleteMessageBatch until the queue is drained, on one keep-alive
//!    connection.
//!
//! Usage: sqs_bench [SIGNATURES] [BATCHES] [json|query|both]   (defaults 100000, 200, both)
//! The third argument picks the SQS wire protocol(s) measured in part 2.
//! Endpoint: LOCALSTACK_ENDPOINT, default http://127.0.0.1:4566. Credentials test/test.
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use sigv4::signer::sign_request_cached;
use sigv4::signing_key::SigningKeyCache;
use sigv4::sqs::{BatchEntry, DeleteEntry, Protocol, ReceiveOptions, SqsClient, SqsConfig};
use sigv4::{sign_request, Credentials, SignableRequest, SigningParams};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| -> Result<u64, String> {
        match args.get(i) {
            None => Ok(default),
            Some(a) => a.parse().map_err(|_| format!("not a number: {a:?}")),
        }
    };
    let protocols = match args.get(2).map(String::as_str) {
        None | Some("both") => Ok(vec![Protocol::Json, Protocol::Query]),
        Some(p) => Protocol::parse(p).map(|p| vec![p]),
    };
    let (signatures, batches, protocols) = match (number(0, 100_000), number(1, 200), protocols) {
        (Ok(s), Ok(b), Ok(p)) => (s, b, p),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            eprintln!("sqs_bench: {e}\nusage: sqs_bench [SIGNATURES] [BATCHES] [json|query|both]");
            return ExitCode::from(2);
        }
    };
    bench_signing(signatures);
    for protocol in protocols {
        println!("--- SQS over {protocol:?} protocol ---");
        if let Err(e) = bench_sqs(batches, protocol) {
            eprintln!("sqs_bench: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn bench_signing(n: u64) {
    let credentials = Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
    );
    let body = "Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2F127.0.0.1%3A4566%2F000000000000%2Fq&MessageBody=%7B%22sensor%22%3A%22us-1%22%2C%22emoji%22%3A%22%F0%9F%9A%80%22%7D";
    let headers = vec![(
        "content-type".to_string(),
        "application/x-www-form-urlencoded; charset=utf-8".to_string(),
    )];
    let request = SignableRequest {
        method: "POST",
        host: "127.0.0.1:4566",
        path: "/000000000000/q",
        query: &[],
        headers: &headers,
        body: body.as_bytes(),
    };
    let params = SigningParams {
        credentials: &credentials,
        region: "us-east-1",
        service: "sqs",
        time: SystemTime::now(),
    };
    let mut cache = SigningKeyCache::new();
    let started = Instant::now();
    let mut check = 0usize;
    for _ in 0..n {
        check += sign_request_cached(&request, &params, &mut cache)
            .signature
            .len();
    }
    report("sign (cached key)", n, started.elapsed());
    let uncached = n / 4;
    let started = Instant::now();
    for _ in 0..uncached {
        check += sign_request(&request, &params).signature.len();
    }
    report("sign (derive key each time)", uncached, started.elapsed());
    assert!(check > 0);
}

fn bench_sqs(batches: u64, protocol: Protocol) -> Result<(), String> {
    let endpoint =
        std::env::var("LOCALSTACK_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let mut config = SqsConfig::new(
        "us-east-1",
        Some(endpoint.clone()),
        Credentials::new("test", "test", None),
    );
    config.protocol = protocol;
    let mut client = SqsClient::new(config);
    let name = format!("sigv4-bench-{}-{protocol:?}", std::process::id());
    let queue = client
        .create_queue(&name, &[])
        .map_err(|e| format!("{e} (is LocalStack running? scripts/localstack start)"))?;
    let body = "{\"sensor\":\"us-1\",\"emoji\":\"🚀\",\"color\":\"#FF0000\",\"seq\":12345}";
    let ids: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    let entries: Vec<BatchEntry> = ids
        .iter()
        .map(|id| BatchEntry {
            id,
            body,
            ..Default::default()
        })
        .collect();

    let started = Instant::now();
    for _ in 0..batches {
        client
            .send_message_batch(&queue, &entries)
            .map_err(|e| e.to_string())?;
    }
    report("SendMessageBatch(10) calls", batches, started.elapsed());
    println!(
        "  = {:.0} messages/s",
        (batches * 10) as f64 / started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut received = 0u64;
    let mut calls = 0u64;
    let options = ReceiveOptions {
        wait_seconds: 1,
        ..ReceiveOptions::default()
    };
    while received < batches * 10 {
        let messages = client
            .receive_message(&queue, &options)
            .map_err(|e| e.to_string())?;
        calls += 1;
        if messages.is_empty() {
            break;
        }
        received += messages.len() as u64;
        let ids: Vec<String> = (0..messages.len()).map(|i| format!("d{i}")).collect();
        let deletes: Vec<DeleteEntry> = ids
            .iter()
            .zip(&messages)
            .map(|(id, m)| DeleteEntry {
                id,
                receipt_handle: &m.receipt_handle,
            })
            .collect();
        client
            .delete_message_batch(&queue, &deletes)
            .map_err(|e| e.to_string())?;
    }
    report(
        "ReceiveMessage + DeleteMessageBatch pairs",
        calls,
        started.elapsed(),
    );
    println!(
        "  = {:.0} messages/s drained ({received} of {})",
        received as f64 / started.elapsed().as_secs_f64(),
        batches * 10
    );
    Ok(())
}

fn report(what: &str, n: u64, elapsed: Duration) {
    let per = elapsed.as_secs_f64() / n.max(1) as f64;
    println!(
        "{what}: {n} in {:.3} s, {:.1} µs each, {:.0}/s",
        elapsed.as_secs_f64(),
        per * 1e6,
        1.0 / per
    );
}
