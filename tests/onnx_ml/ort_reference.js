#!/usr/bin/env node
// Runs every fixture in FIXTURE_DIR/manifest.json with ONNX Runtime (npm onnxruntime-node) and
// writes the outputs as JSON: the reference the ai.onnx.ml conformance test compares against.
//
//   node ort_reference.js FIXTURE_DIR OUT.json
//
// onnxruntime-node is taken from $ONNXRUNTIME_NODE, else the repository's node_modules.
// Its binding cannot return seq(map) values, so ZipMap outputs come from the case's ref_model
// (the graph without ZipMap) zipped here with the keys from the manifest: a list of maps.
'use strict';

const fs = require('fs');
const path = require('path');

const ortPath = process.env.ONNXRUNTIME_NODE ||
    path.resolve(__dirname, '..', '..', 'node_modules', 'onnxruntime-node');
const ort = require(ortPath);

function toNumber(v) {
  if (typeof v === 'string') return Number(v);  // "NaN", "Infinity", "-Infinity"
  return v;
}

function makeTensor(spec) {
  const {dtype, shape, data} = spec;
  switch (dtype) {
    case 'float32': return new ort.Tensor('float32', Float32Array.from(data.map(toNumber)), shape);
    case 'float64': return new ort.Tensor('float64', Float64Array.from(data.map(toNumber)), shape);
    case 'int64': return new ort.Tensor('int64', BigInt64Array.from(data.map((v) => BigInt(v))), shape);
    case 'int32': return new ort.Tensor('int32', Int32Array.from(data), shape);
    case 'string': return new ort.Tensor('string', data, shape);
    default: throw new Error(`unsupported input dtype ${dtype}`);
  }
}

function jsonNumber(v) {
  if (typeof v === 'bigint') return Number(v);
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v;
}

function fromTensor(t) {
  const dtype = t.type === 'float32' ? 'float32' : t.type === 'float64' ? 'float64' : t.type;
  const data = t.type === 'string' ? Array.from(t.data) : Array.from(t.data, jsonNumber);
  return {dtype, shape: Array.from(t.dims), data};
}

function zip(t, spec) {
  const [rows, cols] = t.dims.length === 2 ? t.dims : [1, t.dims[0]];
  if (cols !== spec.keys.length) throw new Error(`ZipMap: ${cols} columns, ${spec.keys.length} keys`);
  const maps = [];
  for (let r = 0; r < rows; ++r) {
    const m = {};
    spec.keys.forEach((k, j) => { m[String(k)] = jsonNumber(t.data[r * cols + j]); });
    maps.push(m);
  }
  return {key_type: spec.key_type, maps};
}

async function runCase(dir, c) {
  const feeds = {};
  for (const [name, spec] of Object.entries(c.inputs)) feeds[name] = makeTensor(spec);
  // Loading the real model checks that ORT accepts it, ZipMap included.
  const session = await ort.InferenceSession.create(path.join(dir, c.model));
  const zipmap = c.zipmap || {};
  const outputs = {};
  if (c.ref_model) {
    const ref = await ort.InferenceSession.create(path.join(dir, c.ref_model));
    const r = await ref.run(feeds);
    for (const name of c.outputs) {
      outputs[name] = zipmap[name] ? zip(r[zipmap[name].source], zipmap[name]) : fromTensor(r[name]);
    }
  } else {
    const r = await session.run(feeds);
    for (const name of c.outputs) outputs[name] = fromTensor(r[name]);
  }
  return {outputs};
}

async function main() {
  if (process.argv.length !== 4) {
    console.error('usage: node ort_reference.js FIXTURE_DIR OUT.json');
    process.exit(2);
  }
  const [dir, outFile] = process.argv.slice(2);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const result = {onnxruntime: require(path.join(ortPath, 'package.json')).version, cases: {}};
  let errors = 0;
  for (const c of manifest.cases) {
    try {
      result.cases[c.name] = await runCase(dir, c);
    } catch (e) {
      ++errors;
      result.cases[c.name] = {error: String(e.message || e)};
      console.error(`ort_reference: ${c.name}: ${e.message || e}`);
    }
  }
  fs.writeFileSync(outFile, JSON.stringify(result, null, 1));
  console.log(`ort_reference: ${manifest.cases.length - errors}/${manifest.cases.length} cases ` +
              `ran with onnxruntime-node ${result.onnxruntime}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
