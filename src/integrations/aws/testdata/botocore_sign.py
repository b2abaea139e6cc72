"""Signs requests with botocore's SigV4 signer, for sigv4_test.cc's cross-check.

stdin: a JSON list of {method, url, headers, body, service, region, access_key, secret_key,
token, epoch, unsigned_payload, presign (S3 presigned URL lifetime in seconds, optional)};
stdout: a JSON list of {canonical_request, string_to_sign, authorization, url}. Run with Debian's /usr/bin/python3 (python3-botocore).
"""
import datetime
import json
import sys
from unittest import mock

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials


def recording(cls):
    class Recording(cls):
        def canonical_request(self, request):
            self.recorded_cr = super().canonical_request(request)
            return self.recorded_cr

        def string_to_sign(self, request, canonical_request):
            self.recorded_sts = super().string_to_sign(request, canonical_request)
            return self.recorded_sts

    return Recording


def sign(case):
    creds = Credentials(case["access_key"], case["secret_key"], case.get("token") or None)
    if case.get("presign"):
        auth = recording(S3SigV4QueryAuth)(
            creds, case["service"], case["region"], expires=case["presign"]
        )
    else:
        cls = S3SigV4Auth if case["service"] == "s3" else SigV4Auth
        auth = recording(cls)(creds, case["service"], case["region"])
    request = AWSRequest(
        method=case["method"],
        url=case["url"],
        headers=case.get("headers", {}),
        data=case.get("body", "").encode(),
    )
    if case.get("unsigned_payload"):
        request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    now = datetime.datetime.utcfromtimestamp(case["epoch"])
    with mock.patch("botocore.auth.datetime") as fake:
        fake.datetime.utcnow.return_value = now
        auth.add_auth(request)
    return {
        "canonical_request": auth.recorded_cr,
        "string_to_sign": auth.recorded_sts,
        "authorization": request.headers.get("Authorization", ""),
        "url": request.url,
    }


json.dump([sign(c) for c in json.load(sys.stdin)], sys.stdout)
