"""Flask baseline for bench/serving: single-row /predict as a Flask + gunicorn shop would write it.

  POST /predict  {"instances": [[30 floats]]} -> {"predictions": [p], "model": {"name", "version"}}
  GET  /ping     no-op floor ("ok")
Lean on purpose (fair to Python): request.get_data + json.loads, json.dumps into a Response, no
jsonify/app-context work, no access log. The model comes from BENCH_MODEL_DIR (see model.py).
Run: BENCH_MODEL_DIR=DIR /usr/bin/python3 -m gunicorn -w 2 -b 127.0.0.1:P --chdir bench/serving/baseline flask_app:app
"""
from flask import Flask, Response, request

import model

app = Flask(__name__)


@app.route("/predict", methods=["POST"])
def predict():
    try:
        out = model.handle(request.get_data())
    except (ValueError, KeyError, TypeError) as e:
        return Response('{"error": "%s"}' % type(e).__name__, status=400, mimetype="application/json")
    return Response(out, mimetype="application/json")


@app.route("/ping", methods=["GET"])
def ping():
    return Response("ok", mimetype="text/plain")
