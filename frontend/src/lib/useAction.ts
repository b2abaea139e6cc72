import { useCallback, useState } from "react";

export interface Action {
  // The last failure of `run`, null after a success or while a new call runs.
  error: unknown;
  // True while a `run` call is in flight.
  busy: boolean;
  // Clears the error, runs `fn` and keeps its failure in `error`.
  run: (fn: () => Promise<unknown>) => Promise<void>;
}

// State for a button or form that calls the API: busy flag and the error to show.
export function useAction(): Action {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }, []);
  return { error, busy, run };
}
