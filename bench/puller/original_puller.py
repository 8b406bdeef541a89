"""A minimal boto3 equivalent of the original puller, for the benchmark's comparison.

Like the original: one loop, receive_message(MaxNumberOfMessages=10, WaitTimeSeconds=...),
print each body, delete each message with its own delete_message call. Unlike the original it
stops once the queue stayed empty for IDLE seconds, and prints its drain rate (messages /
seconds from start to the last delete) and the CPU time the process spent over the same span
(so Python's start-up and boto3's import are not counted against it) as
`original_puller: N messages in S s (R/s), cpu C s`.

    scripts/localstack python bench/puller/original_puller.py QUEUE_URL ENDPOINT [IDLE]
"""
import sys
import time

import boto3


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    queue_url, endpoint = sys.argv[1], sys.argv[2]
    idle = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    out = open("/dev/null", "w")
    count = 0
    start = time.monotonic()
    cpu_start = time.process_time()
    last, cpu_last = start, cpu_start
    while time.monotonic() - last < idle:
        resp = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        for message in resp.get("Messages", []):
            print(message["Body"], file=out)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            count += 1
            last, cpu_last = time.monotonic(), time.process_time()
    busy = max(last - start, 1e-9)
    print(
        f"original_puller: {count} messages in {busy:.3f} s ({count / busy:.0f}/s), "
        f"cpu {cpu_last - cpu_start:.3f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
