import { describe, expect, test } from "vitest";
import { addStage, connect, disconnect, emptyPipeline, fromYaml, layout, parseParam, removeStage, renameStage, showParam, stageIndexOfPath, toYaml, type PipelineModel } from "./pipelineSpec";

function canonical(): PipelineModel {
  let m = emptyPipeline("demo", "churn");
  let last: string | undefined;
  for (const t of ["data-ingestion", "data-preparation", "feature-store", "model-registry", "model-deployment", "realtime-inference"] as const) {
    const r = addStage(m, t, last);
    m = r.model;
    last = r.id;
  }
  m = addStage(m, "batch-inference", "deploy").model;
  m = addStage(m, "model-monitoring", "batch").model;
  m = connect(m, "realtime", "monitor");
  m = addStage(m, "cicd-enforcement", "monitor").model;
  return m;
}

describe("pipeline model", () => {
  test("adding stages chains them and fills required parameters", () => {
    const m = canonical();
    expect(m.stages.map((s) => s.id)).toEqual(["ingest", "prepare", "features", "register", "deploy", "realtime", "batch", "monitor", "enforce"]);
    expect(m.stages.find((s) => s.id === "monitor")!.needs).toEqual(["batch", "realtime"]);
    expect(m.stages.find((s) => s.id === "register")!.with).toEqual({ model_name: "churn", package: "model/" });
  });

  test("ids are unique", () => {
    let m = emptyPipeline("demo", "p");
    m = addStage(m, "command").model;
    const r = addStage(m, "command");
    expect(r.id).toBe("command-2");
  });

  test("YAML round trip keeps stages, needs, parameters and extra fields", () => {
    const m = canonical();
    m.stages[0].extra = { retry: { max_attempts: 3, interval_seconds: 10, backoff_rate: 2 }, timeout_seconds: 1800 };
    const yaml = toYaml(m);
    expect(yaml).toContain("apiVersion: mlops-studio/v1");
    expect(yaml).toContain("kind: Pipeline");
    expect(yaml).toContain("canonical: true");
    const back = fromYaml(yaml);
    expect(back).toEqual(m);
  });

  test("fromYaml refuses what is not a pipeline mapping", () => {
    expect(() => fromYaml("- a\n- b\n")).not.toThrow(); // a list: no stages, no metadata
    expect(fromYaml("- a\n").stages).toEqual([]);
    expect(() => fromYaml("spec:\n  stages:\n    - 3\n")).toThrow(/spec.stages\[0\] is not a mapping/);
    expect(() => fromYaml("a: [unclosed\n")).toThrow();
  });

  test("removing a stage drops it from every needs list", () => {
    const m = removeStage(canonical(), "realtime");
    expect(m.stages.some((s) => s.id === "realtime")).toBe(false);
    expect(m.stages.find((s) => s.id === "monitor")!.needs).toEqual(["batch"]);
  });

  test("renaming a stage renames its references", () => {
    const m = renameStage(canonical(), "deploy", "ship");
    expect(m.stages.find((s) => s.id === "realtime")!.needs).toEqual(["ship"]);
    expect(m.stages.find((s) => s.id === "batch")!.needs).toEqual(["ship"]);
  });

  test("connect ignores self-loops and duplicates; disconnect removes one edge", () => {
    let m = canonical();
    m = connect(m, "monitor", "monitor");
    m = connect(m, "batch", "monitor");
    expect(m.stages.find((s) => s.id === "monitor")!.needs).toEqual(["batch", "realtime"]);
    m = disconnect(m, "batch", "monitor");
    expect(m.stages.find((s) => s.id === "monitor")!.needs).toEqual(["realtime"]);
  });

  test("layout puts each stage one level below its latest dependency; cycles do not hang", () => {
    const pos = layout(canonical().stages);
    expect(pos.ingest).toEqual({ x: 0, y: 0 });
    expect(pos.realtime.y).toBe(pos.batch.y);
    expect(pos.realtime.x).toBe(-pos.batch.x);
    expect(pos.realtime.x).not.toBe(pos.batch.x);
    expect(pos.monitor.y).toBeGreaterThan(pos.batch.y);
    expect(pos.monitor.x).toBe(0);
    const cyc = layout([
      { id: "a", type: "command", needs: ["b"], with: {}, extra: {} },
      { id: "b", type: "command", needs: ["a"], with: {}, extra: {} },
    ]);
    expect(Object.keys(cyc)).toEqual(["a", "b"]);
  });

  test("parameters typed in a field become YAML values", () => {
    expect(parseParam("3")).toBe(3);
    expect(parseParam("true")).toBe(true);
    expect(parseParam("csv")).toBe("csv");
    expect(parseParam("[a, b]")).toEqual(["a", "b"]);
    expect(parseParam("")).toBeUndefined();
    expect(parseParam("a: [")).toBe("a: [");
    expect(showParam([{ name: "x", expr: "log(a)" }])).toBe("[ { name: x, expr: log(a) } ]");
    expect(showParam("plain")).toBe("plain");
  });

  test("validation paths map to stage indexes", () => {
    expect(stageIndexOfPath("spec.stages[3].with.format")).toBe(3);
    expect(stageIndexOfPath("metadata.name")).toBeNull();
  });
});
