import { expect, test } from "vitest";
import { readPackage } from "./Models";

const file = (name: string, text: string) => ({ path: name, file: new File([text], name) });
const MLMODEL = `flavors:
  python_function: {loader_module: mlflow.xgboost}
  xgboost:
    data: model.json
signature:
  inputs: '[{"name": "age", "type": "double"}]'
  outputs: '[{"type": "double"}]'
`;

test("reads flavor, model file and signature from MLmodel", async () => {
  const pkg = await readPackage([file("MLmodel", MLMODEL), file("model.json", "{}")]);
  expect(pkg.flavor).toBe("xgboost");
  expect(pkg.signature).toEqual({ inputs: '[{"name": "age", "type": "double"}]', outputs: '[{"type": "double"}]' });
});

test("refuses a package without MLmodel, without a servable flavor, or missing its model file", async () => {
  await expect(readPackage([file("model.json", "{}")])).rejects.toThrow(/no MLmodel/);
  await expect(readPackage([file("MLmodel", "flavors:\n  sklearn: {pickled_model: m.pkl}\n")])).rejects.toThrow(/xgboost or onnx/);
  await expect(readPackage([file("MLmodel", MLMODEL)])).rejects.toThrow(/model.json/);
  await expect(readPackage([file("MLmodel", "flavors:\n  onnx: {}\n")])).rejects.toThrow(/flavors.onnx.data/);
});

test("the onnx flavor's older model_path key works", async () => {
  const pkg = await readPackage([file("MLmodel", "flavors:\n  onnx: {model_path: model.onnx}\n"), file("model.onnx", "x")]);
  expect(pkg.flavor).toBe("onnx");
  expect(pkg.signature).toEqual({});
});
