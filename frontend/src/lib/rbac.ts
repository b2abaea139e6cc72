// The permission table of DESIGN §5 / docs/api.md: which roles grant each permission. The server
// decides every request; the console only uses this to disable what the user cannot do and to say
// who can.
export type Permission =
  | "read"
  | "create"
  | "deploy_dev"
  | "deploy_staging"
  | "deploy_prod"
  | "approve"
  | "admin"
  | "manage_alerts"
  | "lock_pipelines";

export const ROLES = ["ml_engineer", "data_engineer", "production_team", "monitoring_team", "model_sponsor", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const GRANTS: Record<Exclude<Permission, "read">, Role[]> = {
  create: ["ml_engineer", "data_engineer", "admin"],
  deploy_dev: ["ml_engineer", "data_engineer", "admin"],
  deploy_staging: ["production_team", "admin"],
  deploy_prod: ["admin"],
  approve: ["production_team", "model_sponsor", "admin"],
  admin: ["admin"],
  manage_alerts: ["monitoring_team", "admin"],
  lock_pipelines: ["production_team", "admin"],
};

export function rolesFor(p: Permission): Role[] {
  return p === "read" ? [...ROLES] : GRANTS[p];
}

// "Needs the create permission (ml_engineer, data_engineer or admin)".
export function whoCan(p: Permission): string {
  const roles = rolesFor(p);
  const list = roles.length > 1 ? `${roles.slice(0, -1).join(", ")} or ${roles[roles.length - 1]}` : roles[0];
  return `Needs the ${p} permission (role ${list})`;
}

export function deployPermission(environment: string): Permission {
  if (environment === "prod" || environment === "production") return "deploy_prod";
  if (environment === "staging") return "deploy_staging";
  return "deploy_dev";
}
