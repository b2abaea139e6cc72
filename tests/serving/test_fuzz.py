"""Malformed and hostile bodies on every serve-model route: each gets a clear 4xx (never a 5xx,
never a dropped connection), and the server keeps answering correctly afterwards."""
import json
import random
import socket
import unittest

import requests

from serving_harness import ServingTestCase


def mutations(rng, seed_docs):
    """Random damage to valid documents plus raw garbage."""
    for _ in range(150):
        doc = json.dumps(rng.choice(seed_docs))
        kind = rng.randrange(6)
        if kind == 0:  # truncate
            yield doc[:rng.randrange(len(doc))]
        elif kind == 1:  # flip a byte
            i = rng.randrange(len(doc))
            yield doc[:i] + chr(rng.randrange(32, 127)) + doc[i + 1:]
        elif kind == 2:  # wrong types in place of values
            yield doc.replace("0.5", rng.choice(['"x"', "true", "null", "[]", "{}", "1e999", "-0"]), 1)
        elif kind == 3:  # deep nesting
            n = rng.randrange(10, 5000)
            yield "[" * n + "]" * n
        elif kind == 4:  # random bytes
            yield bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))).decode("latin-1")
        else:  # structurally valid, semantically odd
            yield json.dumps(rng.choice([
                {"instances": [[0.5] * 8] * rng.randrange(0, 3) + [[0.5] * rng.randrange(0, 20)]},
                {"inputs": {"f0": [0.5, 0.5], "f1": [0.5]}},
                {"dataframe_split": {"columns": ["f0"] * 8, "data": [[0.5] * 8]}},
                {"dataframe_records": [{"f0": {"nested": 1}}]},
                {"inputs": [{"name": "input", "shape": [-1, 8], "datatype": "FP32", "data": []}]},
                {"inputs": [{"name": "input", "shape": [1e20, 8], "datatype": "FP32", "data": [1]}]},
                {"inputs": [{"name": "input", "shape": [2 ** 40, 2 ** 40], "datatype": "FP32", "data": [1]}]},
                {"inputs": [{"name": "input", "shape": [1, 8], "datatype": "BYTES", "data": ["a"] * 8}]},
            ]))


class FuzzTests(ServingTestCase):

    def test_routes_survive_garbage(self):
        rng = random.Random(4)
        row = [0.5] * 8
        seeds = [{"instances": [row]}, {"inputs": dict(zip(self.expected["columns"], row))},
                 {"dataframe_split": {"columns": self.expected["columns"], "data": [row]}},
                 {"inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP32", "data": row}]}]
        routes = ["/predict", "/invocations", "/v2/models/m/infer", "/batch-predict"]
        s = requests.Session()
        for body in mutations(rng, seeds):
            route = rng.choice(routes)
            ctype = rng.choice(["application/json", "application/json", "text/csv",
                                "application/x-ndjson"])
            r = s.post(self.server.url(route), data=body.encode("utf-8", "surrogateescape"),
                       headers={"Content-Type": ctype}, timeout=30)
            self.assertLess(r.status_code, 500, (route, ctype, body[:200], r.text[:300]))
            if r.status_code >= 400:
                self.assertTrue(r.text, (route, body[:200]))
        # Still healthy and still exact.
        r = s.post(self.server.url("/predict"), json={"instances": self.expected["rows"]})
        self.assertEqual(r.json()["predictions"], self.expected["xgb"])

    def test_raw_protocol_garbage(self):
        for raw in [b"GARBAGE\r\n\r\n", b"POST /predict HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                    b"POST /predict HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
                    b"POST /predict HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                    b"POST /predict HTTP/1.1\r\n" + b"X-A: " + b"a" * 70000 + b"\r\n\r\n"]:
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as c:
                c.sendall(raw)
                c.shutdown(socket.SHUT_WR)
                data = b""
                while True:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                status = int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.1 ") else 0
                self.assertTrue(400 <= status < 500, (raw[:60], data[:200]))
        self.assertEqual(self.server.get("/ready").status_code, 200)


if __name__ == "__main__":
    unittest.main()
