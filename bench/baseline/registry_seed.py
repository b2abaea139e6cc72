#!/usr/bin/python3
"""Seeds the registry baseline's SQLite database (bench/baseline/registry_app.py) directly with
SQLAlchemy bulk inserts: the same models, versions and aliases bench/registry.py creates in studio
through the REST API.  usage: registry_seed.py DB_PATH MODELS VERSIONS_PER_MODEL
Prints {"models": N, "versions": N, "aliases": N, "seconds": S} as JSON."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from registry_app import (Base, SqlModelVersion, SqlRegisteredModel, SqlRegisteredModelAlias,  # noqa: E402
                          make_engine)


def model_name(i):
    return "model-%05d" % i


def alias_version(i, per_model):
    return i % per_model + 1


def main():
    path, models, per_model = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    t0 = time.perf_counter()
    if os.path.exists(path):
        os.unlink(path)
    engine = make_engine(path)
    Base.metadata.create_all(engine)
    now = int(time.time() * 1000)
    with engine.begin() as conn:
        conn.execute(SqlRegisteredModel.__table__.insert(),
                     [{"name": model_name(i), "creation_time": now, "last_updated_time": now,
                       "description": None} for i in range(models)])
        batch = []
        for i in range(models):
            for v in range(1, per_model + 1):
                batch.append({"name": model_name(i), "version": v, "creation_time": now + v,
                              "last_updated_time": now + v, "user_id": "admin", "current_stage": "None",
                              "source": "mlflow-artifacts:/seed/%s/%d" % (model_name(i), v),
                              "status": "READY"})
            if len(batch) >= 20000:
                conn.execute(SqlModelVersion.__table__.insert(), batch)
                batch = []
        if batch:
            conn.execute(SqlModelVersion.__table__.insert(), batch)
        conn.execute(SqlRegisteredModelAlias.__table__.insert(),
                     [{"name": model_name(i), "alias": "champion", "version": alias_version(i, per_model)}
                      for i in range(models)])
    engine.dispose()
    print(json.dumps({"models": models, "versions": models * per_model, "aliases": models,
                      "seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()
