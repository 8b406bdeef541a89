"""Signs requests with botocore's SigV4Auth, the reference our Rust signer must match.

Usage: scripts/localstack python sigv4/tests/botocore_sign.py REQUESTS.jsonl

Each input line: {"id", "method", "url", "params": [[k, v], ...], "headers": [[n, v], ...],
"body_hex", "access_key", "secret_key", "token" (or null), "region", "service", "time"
(unix seconds)}. Each output line (stdout): {"id", "canonical_request", "string_to_sign",
"authorization"}, captured from inside botocore's own add_auth so nothing is re-derived here.
"""
import datetime
import json
import sys
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


class RecordingSigV4Auth(SigV4Auth):
    """SigV4Auth that remembers the artifacts add_auth computes."""

    def canonical_request(self, request):
        self.last_canonical_request = super().canonical_request(request)
        return self.last_canonical_request

    def string_to_sign(self, request, canonical_request):
        self.last_string_to_sign = super().string_to_sign(request, canonical_request)
        return self.last_string_to_sign


class ParamList(list):
    """Query parameters with repeats. botocore's signer iterates a non-Mapping as pairs,
    while AWSRequest.prepare() calls .items(); a list that answers both keeps repeats."""

    def items(self):
        return list(self)


def sign(case):
    creds = Credentials(case["access_key"], case["secret_key"], case["token"])
    auth = RecordingSigV4Auth(creds, case["service"], case["region"])
    request = AWSRequest(
        method=case["method"],
        url=case["url"],
        params=ParamList(tuple(p) for p in case["params"]),
        data=bytes.fromhex(case["body_hex"]),
    )
    # HTTPHeaders appends on assignment, so repeated names stay repeated, in order.
    for name, value in case["headers"]:
        request.headers[name] = value
    now = datetime.datetime.fromtimestamp(case["time"], datetime.timezone.utc).replace(
        tzinfo=None
    )
    with mock.patch("botocore.auth.get_current_datetime", lambda *a, **k: now):
        auth.add_auth(request)
    return {
        "id": case["id"],
        "canonical_request": auth.last_canonical_request,
        "string_to_sign": auth.last_string_to_sign,
        "authorization": request.headers["Authorization"],
    }


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: botocore_sign.py REQUESTS.jsonl")
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            if line.strip():
                print(json.dumps(sign(json.loads(line))))


if __name__ == "__main__":
    main()
