import { createContext, useContext, type ReactNode } from "react";
import { api } from "./api";
import { useAsync } from "./useAsync";

// Which backends this server has, read from its own OpenAPI document (generated from the route
// table): a page or KPI whose API is missing is not shown.
export interface Capabilities {
  has: (method: string, path: string) => boolean;
}

const CapContext = createContext<Capabilities>({ has: () => false });

export function routesFromOpenApi(doc: { paths?: Record<string, Record<string, unknown>> }): Set<string> {
  const out = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths ?? {}))
    for (const m of Object.keys(ops ?? {})) out.add(`${m.toUpperCase()} ${path}`);
  return out;
}

export function CapabilitiesProvider({ children, fallback }: { children: ReactNode; fallback: ReactNode }) {
  const doc = useAsync(() => api.get<{ paths?: Record<string, Record<string, unknown>> }>("/api/openapi.json"), []);
  if (doc.loading && !doc.data) return <>{fallback}</>;
  const routes = doc.data ? routesFromOpenApi(doc.data) : new Set<string>();
  const value: Capabilities = { has: (method, path) => routes.has(`${method.toUpperCase()} ${path}`) };
  return <CapContext.Provider value={value}>{children}</CapContext.Provider>;
}

export function useCapabilities(): Capabilities {
  return useContext(CapContext);
}

export const FEATURES = {
  runs: ["GET", "/api/v1/runs"],
  deployments: ["GET", "/api/v1/deployments"],
  environments: ["GET", "/api/v1/environments"],
  monitors: ["GET", "/api/v1/monitors"],
  alarms: ["GET", "/api/v1/alarms/rules"],
  pipelines: ["POST", "/api/v1/pipelines/validate"],
  projectPipelines: ["GET", "/api/v1/projects/{id}/pipelines"],
  audit: ["GET", "/api/v1/audit"],
  users: ["GET", "/api/v1/users"],
} as const;

export function useFeature(name: keyof typeof FEATURES): boolean {
  const caps = useCapabilities();
  const [m, p] = FEATURES[name];
  return caps.has(m, p);
}
