"""FastAPI baseline for bench/serving: the lean async path, as MLflow's scoring server does it.

  POST /predict  {"instances": [[30 floats]]} -> {"predictions": [p], "model": {"name", "version"}}
  GET  /ping     no-op floor ("ok")
The handler reads the raw body and json.loads it (no pydantic model), predicts inline, and returns
a plain Response. The model comes from BENCH_MODEL_DIR (see model.py).
Run: BENCH_MODEL_DIR=DIR /usr/bin/python3 -m uvicorn fastapi_app:app --app-dir bench/serving/baseline \
       --host 127.0.0.1 --port P --workers {1|2} --loop uvloop --http httptools --no-access-log
"""
from fastapi import FastAPI, Request
from fastapi.responses import Response

import model

app = FastAPI()


@app.post("/predict")
async def predict(request: Request):
    try:
        out = model.handle(await request.body())
    except (ValueError, KeyError, TypeError) as e:
        return Response('{"error": "%s"}' % type(e).__name__, status_code=400, media_type="application/json")
    return Response(out, media_type="application/json")


@app.get("/ping")
async def ping():
    return Response("ok", media_type="text/plain")
