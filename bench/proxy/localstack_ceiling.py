"""LocalStack's own batched ceiling right now (boto3, JSON protocol, 8 threads x SendMessageBatch of 10),
the reference for `bench/proxy/run.sh localstack`. Run with the bench venv:
.tools/bench-proxy-venv/bin/python bench/proxy/localstack_ceiling.py"""
import boto3, threading, time, os, sys

s = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
c0 = s.client("sqs", endpoint_url="http://127.0.0.1:4566")
q = c0.create_queue(QueueName=f"ceiling-{os.getpid()}")["QueueUrl"]
body = '{"hostname":"edge-node-1","job_submission_time":1711449600,"icon_name":"x","sequence":1,"region":"us","timestamp":"2025-03-26T12:34:56Z","color":"#FF5733"}'
n = [0]; lock = threading.Lock(); stop = time.time() + 5
def run():
    c = s.client("sqs", endpoint_url="http://127.0.0.1:4566")
    while time.time() < stop:
        c.send_message_batch(QueueUrl=q, Entries=[{"Id": str(i), "MessageBody": body} for i in range(10)])
        with lock: n[0] += 10
ts = [threading.Thread(target=run) for _ in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print(f"boto3 ({c0.meta.service_model.protocol}) send_message_batch x8 threads: {n[0]/5:.0f} msg/s")
