import { expect, test } from "vitest";
import { deployPermission, rolesFor, whoCan } from "./rbac";

test("whoCan names the permission and the roles that grant it", () => {
  expect(whoCan("lock_pipelines")).toBe("Needs the lock_pipelines permission (role production_team or admin)");
  expect(whoCan("admin")).toBe("Needs the admin permission (role admin)");
  expect(whoCan("create")).toBe("Needs the create permission (role ml_engineer, data_engineer or admin)");
});

test("the table matches DESIGN §5", () => {
  expect(rolesFor("approve")).toEqual(["production_team", "model_sponsor", "admin"]);
  expect(rolesFor("deploy_prod")).toEqual(["admin"]);
  expect(rolesFor("manage_alerts")).toEqual(["monitoring_team", "admin"]);
  expect(rolesFor("read")).toHaveLength(6);
});

test("deploy permission per environment", () => {
  expect(deployPermission("dev")).toBe("deploy_dev");
  expect(deployPermission("staging")).toBe("deploy_staging");
  expect(deployPermission("prod")).toBe("deploy_prod");
  expect(deployPermission("production")).toBe("deploy_prod");
});
