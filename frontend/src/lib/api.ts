// The one HTTP client of the console: same-origin JSON with the session cookie. State-changing
// requests are application/json; the browser adds the Origin header the server checks (CSRF).

export class ApiError extends Error {
  status: number;
  code: string;
  details?: Record<string, string>;
  constructor(status: number, code: string, message: string, details?: Record<string, string>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, q?: Query): string {
  if (!q) return path;
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `${path}${path.includes("?") ? "&" : "?"}${s}` : path;
}

let onUnauthenticated: (() => void) | null = null;
export function setUnauthenticatedHandler(fn: (() => void) | null) {
  onUnauthenticated = fn;
}

async function toError(res: Response): Promise<ApiError> {
  let body: { error_code?: string; message?: string; details?: Record<string, string> } = {};
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, body.error_code ?? `HTTP_${res.status}`, body.message ?? res.statusText, body.details);
}

export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const init: RequestInit = { method, headers, credentials: "same-origin", signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401 && !path.endsWith("/auth/login") && onUnauthenticated) onUnauthenticated();
    throw err;
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string, q?: Query, signal?: AbortSignal) => request<T>("GET", withQuery(path, q), undefined, signal),
  post: <T>(path: string, body: unknown = {}) => request<T>("POST", path, body),
  put: <T>(path: string, body: unknown = {}) => request<T>("PUT", path, body),
  patch: <T>(path: string, body: unknown) => request<T>("PATCH", path, body),
  del: <T = void>(path: string) => request<T>("DELETE", path),
};

export const enc = encodeURIComponent;

export interface Page<T> {
  items: T[];
  next_page_token?: string;
}

// Reads every page of a list (bounded) — for counts on the dashboard.
export async function listAll<T>(path: string, q: Query = {}, maxPages = 20): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = await api.get<Page<T>>(path, { ...q, max_results: 1000, page_token: token });
    out.push(...(page.items ?? []));
    token = page.next_page_token;
    if (!token) break;
  }
  return out;
}

// Streams a raw file to the artifact store with upload progress (fetch has none: XHR does).
export function uploadArtifact(path: string, file: Blob, onProgress: (sent: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const url = "/api/2.0/mlflow-artifacts/artifacts/" + path.split("/").map(enc).join("/");
    xhr.open("PUT", url);
    xhr.withCredentials = true;
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size);
        resolve();
        return;
      }
      let code = `HTTP_${xhr.status}`;
      let message = xhr.statusText;
      try {
        const b = JSON.parse(xhr.responseText);
        code = b.error_code ?? code;
        message = b.message ?? message;
      } catch {
        /* not JSON */
      }
      reject(new ApiError(xhr.status, code, message));
    };
    xhr.onerror = () => reject(new ApiError(0, "NETWORK", "the upload failed (network error)"));
    xhr.send(file);
  });
}
