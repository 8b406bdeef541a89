"""Minimal equivalent of the original regional proxy (FastAPI + boto3, one send_message per
request, a supersede filter per worker process). Benchmark comparison only; not shipped."""
import json
import os

import boto3
from fastapi import FastAPI, HTTPException, Request

app = FastAPI()
sqs = boto3.client(
    "sqs",
    region_name=os.environ.get("AWS_REGION", "us-east-1"),
    endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
)
QUEUE_URL = os.environ["SQS_QUEUE_URL"]
newest = {}  # per process, as in the original


@app.post("/send")
async def send(request: Request):
    try:
        message = await request.json()
    except ValueError:
        raise HTTPException(status_code=400, detail="invalid JSON")
    host, t = message.get("hostname"), message.get("job_submission_time")
    if host is None or t is None or t < newest.get(host, t):
        return {"status": "filtered"}
    newest[host] = t
    try:
        resp = sqs.send_message(QueueUrl=QUEUE_URL, MessageBody=json.dumps(message))
    except Exception as e:  # the original answered 500 on any SQS error
        raise HTTPException(status_code=500, detail=str(e))
    return {"message_id": resp["MessageId"]}


@app.get("/health")
async def health():
    return {"status": "healthy"}
