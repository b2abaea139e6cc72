"""Python baseline for bench/registry.py: a stand-in for MLflow's tracking server model registry
on its SQL store (mlflow/store/model_registry/sqlalchemy_store.py + dbmodels/models.py).

Same tables as MLflow (registered_models, model_versions, registered_model_tags,
model_version_tags, registered_model_aliases; primary keys and foreign keys as MLflow ships them,
no extra index), the same SQLAlchemy ORM mapping (backref relationships, lazy "select" loading),
and MLflow's query pattern for the three endpoints the benchmark hits:

  GET /api/2.0/mlflow/registered-models/search?filter=name LIKE '...'&max_results=N
      one ORM query (LIKE + ORDER BY name + OFFSET/LIMIT max_results+1), then
      SqlRegisteredModel.to_mlflow_entity() per row: lazy loads of model_versions (to find the
      latest version per stage), of the latest versions' tags, of the model's tags and aliases.
  GET /api/2.0/mlflow/registered-models/alias?name=..&alias=..
      alias row, then the version row, its tags (lazy), then the aliases pointing at it.
  GET /api/2.0/mlflow/model-versions/search?filter=name='..'
      one ORM query (name, current_stage != Deleted_Internal, ORDER BY, LIMIT), the tags of every
      version (lazy), then the aliases in one batch query (MLflow's later fix, PR #22841).

It is written to be generous to Python, compared with MLflow itself: no auth layer, no protobuf
round trip (plain dicts to json.dumps), a regex instead of sqlparse for the filter, one engine
with pooled connections. Responses have MLflow's shapes (snake_case, int64 as numbers, version as
a string). Run it with:
  REGISTRY_DB=path /usr/bin/python3 -m gunicorn -w 2 -b 127.0.0.1:PORT --chdir bench/baseline \
      registry_app:app
"""
import base64
import json
import os
import re

from flask import Flask, Response, request
from sqlalchemy import (BigInteger, Column, ForeignKey, ForeignKeyConstraint, Integer, PrimaryKeyConstraint,
                        String, create_engine)
from sqlalchemy.orm import backref, declarative_base, relationship, sessionmaker

Base = declarative_base()
STAGE_NONE = "None"
STAGE_DELETED_INTERNAL = "Deleted_Internal"


class SqlRegisteredModel(Base):
    __tablename__ = "registered_models"
    name = Column(String(256), unique=True, nullable=False)
    creation_time = Column(BigInteger)
    last_updated_time = Column(BigInteger, nullable=True, default=None)
    description = Column(String(5000), nullable=True)
    __table_args__ = (PrimaryKeyConstraint("name", name="registered_model_pk"),)

    def to_mlflow_entity(self):
        # MLflow: walks every version of the model in Python to find the latest per stage.
        latest_versions = {}
        for mv in self.model_versions:
            stage = mv.current_stage
            if stage != STAGE_DELETED_INTERNAL and (
                    stage not in latest_versions or latest_versions[stage].version < mv.version):
                latest_versions[stage] = mv
        out = {"name": self.name, "creation_timestamp": self.creation_time,
               "last_updated_timestamp": self.last_updated_time}
        if self.description is not None:
            out["description"] = self.description
        lv = [mv.to_mlflow_entity() for mv in latest_versions.values()]
        if lv:
            out["latest_versions"] = lv
        tags = [t.to_mlflow_entity() for t in self.registered_model_tags]
        if tags:
            out["tags"] = tags
        aliases = [a.to_mlflow_entity() for a in self.registered_model_aliases]
        if aliases:
            out["aliases"] = aliases
        return out


class SqlModelVersion(Base):
    __tablename__ = "model_versions"
    name = Column(String(256), ForeignKey("registered_models.name", onupdate="cascade"))
    version = Column(Integer, nullable=False)
    creation_time = Column(BigInteger)
    last_updated_time = Column(BigInteger, nullable=True, default=None)
    description = Column(String(5000), nullable=True)
    user_id = Column(String(256), nullable=True, default=None)
    current_stage = Column(String(20), default=STAGE_NONE)
    source = Column(String(500), nullable=True, default=None)
    storage_location = Column(String(500), nullable=True, default=None)
    run_id = Column(String(32), nullable=True, default=None)
    run_link = Column(String(500), nullable=True, default=None)
    status = Column(String(20), default="READY")
    status_message = Column(String(500), nullable=True, default=None)
    registered_model = relationship("SqlRegisteredModel",
                                    backref=backref("model_versions", cascade="all"))
    __table_args__ = (PrimaryKeyConstraint("name", "version", name="model_version_pk"),)

    def to_mlflow_entity(self, aliases=None):
        out = {"name": self.name, "version": str(self.version), "creation_timestamp": self.creation_time,
               "last_updated_timestamp": self.last_updated_time, "current_stage": self.current_stage}
        for key, val in (("user_id", self.user_id), ("description", self.description),
                         ("source", self.source), ("run_id", self.run_id), ("status", self.status),
                         ("status_message", self.status_message), ("run_link", self.run_link)):
            if val is not None:
                out[key] = val
        tags = [t.to_mlflow_entity() for t in self.model_version_tags]
        if tags:
            out["tags"] = tags
        if aliases:
            out["aliases"] = aliases
        return out


class SqlRegisteredModelTag(Base):
    __tablename__ = "registered_model_tags"
    key = Column(String(250), nullable=False)
    value = Column(String(5000), nullable=True)
    name = Column(String(256), ForeignKey("registered_models.name", onupdate="cascade"))
    registered_model = relationship("SqlRegisteredModel",
                                    backref=backref("registered_model_tags", cascade="all"))
    __table_args__ = (PrimaryKeyConstraint("key", "name", name="registered_model_tag_pk"),)

    def to_mlflow_entity(self):
        return {"key": self.key, "value": self.value}


class SqlModelVersionTag(Base):
    __tablename__ = "model_version_tags"
    key = Column(String(250), nullable=False)
    value = Column(String(5000), nullable=True)
    name = Column(String(256), nullable=False)
    version = Column(Integer, nullable=False)
    model_version = relationship("SqlModelVersion", foreign_keys=[name, version],
                                 backref=backref("model_version_tags", cascade="all"))
    __table_args__ = (
        PrimaryKeyConstraint("key", "name", "version", name="model_version_tag_pk"),
        ForeignKeyConstraint(("name", "version"), ("model_versions.name", "model_versions.version"),
                             onupdate="cascade"),
    )

    def to_mlflow_entity(self):
        return {"key": self.key, "value": self.value}


class SqlRegisteredModelAlias(Base):
    __tablename__ = "registered_model_aliases"
    name = Column(String(256), ForeignKey("registered_models.name", onupdate="cascade",
                                          ondelete="cascade", name="registered_model_alias_name_fkey"),
                  nullable=False)
    alias = Column(String(256), nullable=False)
    version = Column(Integer, nullable=False)
    registered_model = relationship("SqlRegisteredModel",
                                    backref=backref("registered_model_aliases", cascade="all"))
    __table_args__ = (PrimaryKeyConstraint("name", "alias", name="registered_model_alias_pk"),)

    def to_mlflow_entity(self):
        return {"alias": self.alias, "version": str(self.version)}


def make_engine(path):
    return create_engine("sqlite:///" + path, connect_args={"check_same_thread": False, "timeout": 10})


DB_PATH = os.environ.get("REGISTRY_DB", "registry.db")
app = Flask(__name__)
_engine = None
_Session = None


def session():
    global _engine, _Session
    if _Session is None:  # per worker process (gunicorn forks before the first request)
        _engine = make_engine(DB_PATH)
        _Session = sessionmaker(bind=_engine)
    return _Session()


def _json(status, obj):
    return Response(json.dumps(obj), status=status, mimetype="application/json")


def _error(status, code, message):
    return _json(status, {"error_code": code, "message": message})


_NAME_LIKE = re.compile(r"^\s*name\s+(LIKE|ILIKE)\s+'((?:[^']|'')*)'\s*$", re.I)
_NAME_EQ = re.compile(r"^\s*name\s*=\s*'((?:[^']|'')*)'\s*$", re.I)


def _offset(token):
    if not token:
        return 0
    try:
        return int(json.loads(base64.b64decode(token))["offset"])
    except (ValueError, KeyError, TypeError):
        raise ValueError("Invalid page token")


def _token(offset):
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def _max_results(default, limit):
    raw = request.args.get("max_results")
    if raw is None:
        return default
    n = int(raw)
    if n < 1 or n > limit:
        raise ValueError("max_results out of range")
    return n


@app.get("/health")
@app.get("/readyz")
def health():
    return Response("OK", mimetype="text/plain")


@app.get("/api/2.0/mlflow/registered-models/search")
def search_registered_models():
    try:
        max_results = _max_results(100, 1000)
        offset = _offset(request.args.get("page_token"))
    except ValueError as e:
        return _error(400, "INVALID_PARAMETER_VALUE", str(e))
    flt = request.args.get("filter", "")
    conditions = []
    if flt:
        m = _NAME_LIKE.match(flt)
        if not m:
            return _error(400, "INVALID_PARAMETER_VALUE", "unsupported filter %r" % flt)
        pattern = m.group(2).replace("''", "'")
        col = SqlRegisteredModel.name
        conditions.append(col.like(pattern) if m.group(1).upper() == "LIKE" else col.ilike(pattern))
    s = session()
    try:
        rows = (s.query(SqlRegisteredModel).filter(*conditions)
                .order_by(SqlRegisteredModel.name.asc())
                .offset(offset).limit(max_results + 1).all())
        entities = [rm.to_mlflow_entity() for rm in rows]
        out = {}
        if entities[:max_results]:
            out["registered_models"] = entities[:max_results]
        if len(rows) > max_results:
            out["next_page_token"] = _token(offset + max_results)
        return _json(200, out)
    finally:
        s.close()


@app.get("/api/2.0/mlflow/registered-models/alias")
def get_model_version_by_alias():
    name, alias = request.args.get("name"), request.args.get("alias")
    if not name or not alias:
        return _error(400, "INVALID_PARAMETER_VALUE", "name and alias are required")
    s = session()
    try:
        a = (s.query(SqlRegisteredModelAlias)
             .filter(SqlRegisteredModelAlias.name == name, SqlRegisteredModelAlias.alias == alias).first())
        if a is None:
            return _error(404, "RESOURCE_DOES_NOT_EXIST",
                          "Registered model alias %s not found." % alias)
        mvs = (s.query(SqlModelVersion)
               .filter(SqlModelVersion.name == a.name, SqlModelVersion.version == a.version,
                       SqlModelVersion.current_stage != STAGE_DELETED_INTERNAL).all())
        if len(mvs) != 1:
            return _error(404, "RESOURCE_DOES_NOT_EXIST",
                          "Model Version (name=%s, version=%s) not found" % (a.name, a.version))
        aliases = [r.alias for r in s.query(SqlRegisteredModelAlias)
                   .filter(SqlRegisteredModelAlias.name == name, SqlRegisteredModelAlias.version == a.version)]
        return _json(200, {"model_version": mvs[0].to_mlflow_entity(aliases)})
    finally:
        s.close()


@app.get("/api/2.0/mlflow/model-versions/search")
def search_model_versions():
    try:
        max_results = _max_results(10000, 200000)
        offset = _offset(request.args.get("page_token"))
    except ValueError as e:
        return _error(400, "INVALID_PARAMETER_VALUE", str(e))
    flt = request.args.get("filter", "")
    conditions = [SqlModelVersion.current_stage != STAGE_DELETED_INTERNAL]
    if flt:
        m = _NAME_EQ.match(flt)
        if not m:
            return _error(400, "INVALID_PARAMETER_VALUE", "unsupported filter %r" % flt)
        conditions.append(SqlModelVersion.name == m.group(1).replace("''", "'"))
    s = session()
    try:
        rows = (s.query(SqlModelVersion).filter(*conditions)
                .order_by(SqlModelVersion.last_updated_time.desc(), SqlModelVersion.name.asc(),
                          SqlModelVersion.version.desc())
                .offset(offset).limit(max_results + 1).all())
        page = rows[:max_results]
        aliases = {}
        names = {mv.name for mv in page}
        if names:
            for r in s.query(SqlRegisteredModelAlias).filter(SqlRegisteredModelAlias.name.in_(names)):
                aliases.setdefault((r.name, r.version), []).append(r.alias)
        out = {}
        if page:
            out["model_versions"] = [mv.to_mlflow_entity(aliases.get((mv.name, mv.version))) for mv in page]
        if len(rows) > max_results:
            out["next_page_token"] = _token(offset + max_results)
        return _json(200, out)
    finally:
        s.close()
