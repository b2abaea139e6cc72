import { afterEach, expect, test } from "vitest";
import { act, cleanup, renderHook } from "@testing-library/react";
import { useAction } from "./useAction";

afterEach(cleanup);

test("keeps the failure, clears it on the next call and reports busy while running", async () => {
  const { result } = renderHook(() => useAction());
  expect(result.current.error).toBeNull();
  expect(result.current.busy).toBe(false);

  const boom = new Error("boom");
  await act(() => result.current.run(() => Promise.reject(boom)));
  expect(result.current.error).toBe(boom);
  expect(result.current.busy).toBe(false);

  let finish!: () => void;
  let pending!: Promise<void>;
  act(() => {
    pending = result.current.run(() => new Promise<void>((r) => (finish = r)));
  });
  expect(result.current.busy).toBe(true);
  expect(result.current.error).toBeNull();
  await act(async () => {
    finish();
    await pending;
  });
  expect(result.current.busy).toBe(false);
  expect(result.current.error).toBeNull();
});

test("an error thrown inside the async action is kept, not rethrown", async () => {
  const { result } = renderHook(() => useAction());
  await act(() =>
    result.current.run(async () => {
      throw new TypeError("bad input");
    }),
  );
  expect(result.current.error).toBeInstanceOf(TypeError);
  expect((result.current.error as Error).message).toBe("bad input");
});
