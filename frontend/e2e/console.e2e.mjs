// End-to-end test of the web console: the built frontend/dist served by a real `studio serve`
// (temp data dir, free loopback port), driven in Debian's Chromium through playwright-core.
// Walks issue 8's scenario and saves a screenshot of every page to $STUDIO_TEST_OUTPUT.
// Fails on any browser console error or uncaught page error.
//
//   STUDIO_BIN=build/studio STUDIO_UI_DIST=frontend/dist node frontend/e2e/console.e2e.mjs
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = process.env.STUDIO_REPO_ROOT ?? path.resolve(here, "../..");
const BIN = process.env.STUDIO_BIN ?? path.join(repo, "build/studio");
const DIST = process.env.STUDIO_UI_DIST ?? path.join(repo, "frontend/dist");
const OUT = process.env.STUDIO_TEST_OUTPUT ?? path.join(repo, "build/test-output/ui");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const KEEP = process.env.STUDIO_TEST_KEEP === "1";

const ADMIN = { username: "admin", password: "admin-Passw0rd-for-ui" };
const MLE = { username: "mia", password: "mia-Passw0rd-123" };
const PROD = { username: "paul", password: "paul-Passw0rd-123" };

let passed = 0;
const steps = [];
function step(name) {
  steps.push(name);
  console.log(`▶ ${name}`);
}
function ok(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
  passed++;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "studio-ui-e2e-"));
const dataDir = path.join(tmp, "data");
fs.mkdirSync(OUT, { recursive: true });
for (const f of fs.readdirSync(OUT)) if (f.endsWith(".png")) fs.rmSync(path.join(OUT, f));

let server = null;
let context = null;
const consoleErrors = [];

async function main() {
  if (!fs.existsSync(path.join(DIST, "index.html"))) throw new Error(`no built console at ${DIST} (build the studio_ui target)`);
  if (!fs.existsSync(BIN)) throw new Error(`no studio binary at ${BIN}`);

  step("bootstrap the admin");
  const boot = spawnSync(BIN, ["admin", "bootstrap", "--username", ADMIN.username, "--password-stdin", "--json", "--data-dir", dataDir], {
    input: ADMIN.password + "\n",
    encoding: "utf8",
  });
  ok(boot.status === 0, `bootstrap exited ${boot.status}: ${boot.stderr}`);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(OUT, "server.log"), "w");
  server = spawn(BIN, ["serve", "--data-dir", dataDir, "--port", String(port), "--ui-dir", DIST, "--log-format", "text"], { stdio: ["ignore", log, log] });
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) break;
    } catch {
      /* not yet */
    }
    if (i > 150) throw new Error("server did not become ready (see server.log)");
    await new Promise((r) => setTimeout(r, 100));
  }

  // The API as the admin (Basic auth) for test setup the scenario does not click through.
  const adminAuth = "Basic " + Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString("base64");
  const apiCall = async (method, p, body, type = "application/json") => {
    const r = await fetch(base + p, {
      method,
      headers: { Authorization: adminAuth, ...(body !== undefined ? { "Content-Type": type } : {}) },
      body: body === undefined ? undefined : type === "application/json" ? JSON.stringify(body) : body,
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${p} → ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };

  step("static serving: SPA fallback, caching, API untouched");
  {
    const index = await fetch(`${base}/projects/anything`, { headers: { Accept: "text/html" } });
    ok(index.status === 200 && (index.headers.get("content-type") ?? "").startsWith("text/html"), "deep link answers index.html");
    ok(index.headers.get("cache-control") === "no-cache", "index.html is no-cache");
    const html = await index.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    ok(!!asset, "index.html references a hashed asset");
    const js = await fetch(base + asset);
    ok(js.status === 200 && (js.headers.get("content-type") ?? "").startsWith("text/javascript"), "asset is JavaScript");
    ok((js.headers.get("cache-control") ?? "").includes("immutable"), "asset is cached immutably");
    const missing = await fetch(`${base}/assets/nope-123.js`);
    ok(missing.status === 404, "a missing asset is 404, not index.html");
    const plain404 = await fetch(`${base}/nope`, { headers: { Accept: "application/json" } });
    ok(plain404.status === 404 && (await plain404.json()).error_code === "ENDPOINT_NOT_FOUND", "an API client gets a JSON 404 for unknown paths");
    const root = await fetch(`${base}/`, { headers: { Accept: "application/json" } });
    ok((await root.json()).service === "mlops-studio", "/ stays the JSON service index for API clients");
    const api404 = await fetch(`${base}/api/v1/nope`);
    ok(api404.status === 404 && (api404.headers.get("content-type") ?? "").includes("json"), "unknown API path stays a JSON 404");
    // Traversal out of the console directory, sent raw (a client would normalize it away).
    const raw = (target) =>
      new Promise((resolve, reject) => {
        const sock = net.connect(port, "127.0.0.1", () => sock.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
        let data = "";
        sock.on("data", (d) => (data += d));
        sock.on("end", () => resolve(data));
        sock.on("error", reject);
      });
    for (const target of ["/../../../etc/passwd", "/assets/..%2F..%2F..%2Fetc%2Fpasswd", "/%2e%2e/%2e%2e/etc/passwd", "/assets/%5c..%5cx.js"]) {
      const resp = await raw(target);
      ok(!resp.includes("root:x:0:0"), `traversal ${target} refused`);
      ok(/^HTTP\/1\.1 (400|404)/.test(resp), `traversal ${target} answered 400/404: ${resp.split("\r\n")[0]}`);
    }
    const health = await fetch(`${base}/healthz`);
    ok(health.status === 200 && (await health.json()).status === "ok", "healthz untouched");
  }

  step("launch Chromium");
  context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15000);
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(`${page.url()}: ${msg.text()}`);
  });
  page.on("pageerror", (err) => consoleErrors.push(`${page.url()}: uncaught ${err.message}`));

  let shot = 0;
  const screenshot = async (name) => {
    await page.waitForLoadState("networkidle").catch(() => {});
    await page.screenshot({ path: path.join(OUT, `${String(++shot).padStart(2, "0")}-${name}.png`), fullPage: true });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    ok(width <= 1280, `${name} fits 1280 px without horizontal scrolling (${width})`);
  };
  const nav = async (label) => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label, exact: true }).click();
    await page.getByRole("heading", { level: 1 }).first().waitFor();
  };
  const login = async (u) => {
    await page.getByLabel("Username").fill(u.username);
    await page.getByLabel("Password").fill(u.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator(".whoami .username").filter({ hasText: new RegExp(`^${u.username}$`) }).waitFor();
  };
  const logout = async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
  };

  step("log in as the bootstrap admin");
  await page.goto(base + "/");
  await page.getByRole("heading", { name: "Sign in to MLOps Studio" }).waitFor();
  await screenshot("login");
  await login(ADMIN);
  ok((await page.locator(".whoami .roles").innerText()) === "admin", "roles shown");
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await page.getByLabel("Projects", { exact: true }).waitFor();
  await screenshot("dashboard-admin");

  step("create an ml_engineer and a production_team user");
  await nav("Admin");
  const createUser = async (u, role) => {
    const form = page.getByRole("form", { name: "Create a user" });
    await form.getByLabel("Username").fill(u.username);
    await form.getByLabel("Initial password").fill(u.password);
    await form.getByLabel(role, { exact: true }).check();
    await form.getByRole("button", { name: "Create user" }).click();
    await page.getByRole("cell", { name: u.username, exact: true }).waitFor();
  };
  await createUser(MLE, "ml_engineer");
  await createUser(PROD, "production_team");
  await screenshot("admin-users");
  await logout();

  step("log in as the ml_engineer; admin-only actions are gated");
  await login(MLE);
  await nav("Admin");
  ok(await page.getByText("Users and role bindings are managed by an admin").isVisible(), "non-admin sees no user management");
  await screenshot("admin-tokens-ml-engineer");

  step("create a project");
  await nav("Projects");
  await page.getByText("No projects yet").waitFor();
  await page.getByRole("button", { name: "New project" }).click();
  const pform = page.getByRole("form", { name: "Create a project" });
  await pform.getByLabel("Name").fill("demo");
  await pform.getByLabel("Description").fill("Churn model of the UI test");
  await pform.getByRole("button", { name: "Create project" }).click();
  await page.getByRole("heading", { name: "Project demo" }).waitFor();
  await screenshot("project-detail");
  await nav("Projects");
  await page.getByRole("link", { name: "demo", exact: true }).waitFor();
  await screenshot("projects");

  step("register a model version by upload");
  // A real XGBoost package (the serving tests' fixture builder), so the deployment can go live.
  const fixtures = path.join(tmp, "fixtures");
  const fx = spawnSync("/usr/bin/python3", [path.join(repo, "tests/serving/fixtures.py"), fixtures], { encoding: "utf8" });
  ok(fx.status === 0, `fixture models built: ${fx.stderr}`);
  const pkgDir = path.join(fixtures, "xgb");
  await nav("Models");
  await page.getByRole("button", { name: "Register a model version" }).click();
  const rform = page.getByRole("form", { name: "Register a model version" });
  await rform.getByLabel("Project").selectOption("demo");
  await rform.getByLabel("Model name").fill("churn");
  await rform.getByLabel("Package files").setInputFiles([path.join(pkgDir, "MLmodel"), path.join(pkgDir, "model.json")]);
  await rform.getByRole("button", { name: "Upload and register" }).click();
  await page.getByRole("heading", { name: "churn v1" }).waitFor();
  ok(await page.getByRole("cell", { name: "f7", exact: true }).isVisible(), "signature shown");
  const dl = page.getByRole("link", { name: "model.json" });
  await dl.waitFor();
  const href = await dl.getAttribute("href");
  const body = await page.evaluate(async (h) => (await fetch(h)).text(), href);
  ok(body === fs.readFileSync(path.join(pkgDir, "model.json"), "utf8"), "artifact download returns the uploaded bytes");
  await screenshot("model-version");
  await nav("Models");
  await page.getByRole("link", { name: "churn", exact: true }).click();
  await page.getByRole("heading", { name: "Model churn" }).waitFor();
  await screenshot("model");

  step("build the canonical DAG in the pipeline editor and validate it");
  await nav("Pipelines");
  await page.getByLabel("Project").selectOption("demo");
  await page.getByLabel("New pipeline name").fill("churn");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await page.getByText("This pipeline has no stages yet").waitFor();
  const addStage = async (type) => {
    await page.getByLabel("Stage type").selectOption(type);
    await page.getByRole("button", { name: /^Add stage/ }).click();
  };
  const selectNode = async (id) => {
    // As a person would: fit the graph into view (the page may have gained a scrollbar), then click.
    for (let attempt = 1; ; attempt++) {
      try {
        await page.getByRole("button", { name: "Fit View" }).click();
        await page.locator(`.react-flow__node[data-id="${id}"]`).click({ timeout: 4000 });
        await page.getByRole("heading", { name: `Stage ${id}` }).waitFor({ timeout: 4000 });
        return;
      } catch (e) {
        if (attempt === 3) throw e;
        console.log(`  (retrying selection of ${id}: ${String(e.message).split("\n")[0]})`);
      }
    }
  };
  for (const t of ["data-ingestion", "data-preparation", "feature-store", "model-registry", "model-deployment", "realtime-inference"]) await addStage(t);
  await selectNode("deploy");
  await addStage("batch-inference");
  await addStage("model-monitoring");
  await page.getByRole("group", { name: "Runs after" }).getByLabel("realtime").check();
  await addStage("cicd-enforcement");
  await page.getByTestId("validity").getByText("✓ Valid").waitFor();
  const yamlText = await page.getByLabel("Pipeline YAML").inputValue();
  ok(yamlText.includes("type: cicd-enforcement") && yamlText.includes("- realtime"), "the editor produced the YAML");
  // Live validation catches a broken parameter, then recovers.
  await selectNode("ingest");
  await page.getByLabel("format").fill("xls");
  await page.getByTestId("validity").getByText(/✗ 1 error/).waitFor();
  ok(await page.getByRole("region", { name: "Validation errors" }).getByText("spec.stages[0].with.format").isVisible(), "error names the path");
  await page.getByLabel("format").fill("csv");
  await page.getByTestId("validity").getByText("✓ Valid").waitFor();
  const lockBtn = page.getByRole("button", { name: "Lock stage" });
  ok(await lockBtn.isDisabled(), "ml_engineer cannot lock");
  ok((await lockBtn.getAttribute("title")).includes("production_team or admin"), "tooltip names the roles that can lock");
  await screenshot("pipeline-editor");

  step("dry-run the pipeline: stage status on the graph, run history, stage logs");
  await page.getByRole("button", { name: "Dry run (no-op stages)" }).click();
  await page.locator('.react-flow__node[data-id="enforce"] .stage-node.status-succeeded').waitFor({ timeout: 90000 });
  ok((await page.locator(".stage-node.status-succeeded").count()) === 9, "every stage shown succeeded");
  const stagesTable = page.getByRole("table", { name: /Stages of run/ });
  await stagesTable.getByRole("row", { name: /^ingest/ }).getByRole("button", { name: "Logs" }).click();
  await page.getByRole("status").filter({ hasText: "end of log" }).waitFor();
  await screenshot("pipeline-run");
  await nav("CI/CD");
  await page.getByRole("heading", { name: "Pipeline runs", exact: true }).waitFor();
  await page.getByRole("cell", { name: "churn", exact: true }).first().waitFor();
  await screenshot("cicd-runs");
  await logout();

  step("lock a stage as admin");
  await login(ADMIN);
  await page.goto(`${base}/pipelines?project=demo&name=churn`);
  await page.getByTestId("validity").getByText("✓ Valid").waitFor();
  await selectNode("ingest");
  await page.getByRole("button", { name: "Lock stage" }).click();
  await page.getByRole("button", { name: "Unlock stage" }).waitFor();
  await screenshot("pipeline-locked-admin");
  await logout();

  step("the ml_engineer cannot edit the locked stage");
  await login(MLE);
  await page.goto(`${base}/pipelines?project=demo&name=churn`);
  await page.getByTestId("validity").getByText("✓ Valid").waitFor();
  await selectNode("ingest");
  await page.getByText(/Locked by admin/).waitFor();
  ok(await page.getByLabel("source").isDisabled(), "locked stage parameters are read-only");
  ok(await page.getByRole("button", { name: "Remove stage" }).isDisabled(), "locked stage cannot be removed");
  ok((await page.getByRole("button", { name: "Unlock stage" }).getAttribute("title")).includes("lock_pipelines"), "unlock is gated with a tooltip");
  await screenshot("pipeline-locked-ml-engineer");

  step("drift report: a monitor on the registered version");
  const csv = (n, shift) => {
    const rows = ["f0,f1,f2,plan"];
    for (let i = 0; i < n; i++) rows.push(`${(((i * 7) % 50) / 10 + shift).toFixed(2)},${((i * 13) % 17).toFixed(1)},${(i % 5) * 0.5},${["basic", "pro", "team"][(i + (shift ? 1 : 0)) % 3]}`);
    return rows.join("\n") + "\n";
  };
  await apiCall("PUT", "/api/2.0/mlflow-artifacts/artifacts/datasets/demo/reference.csv", csv(400, 0), "text/csv");
  await apiCall("PUT", "/api/2.0/mlflow-artifacts/artifacts/datasets/demo/current.csv", csv(400, 2.5), "text/csv");
  const monitor = await apiCall("POST", "/api/v1/monitors", {
    project: "demo",
    name: "churn-drift",
    target: { model: "churn", version: 1 },
    reference: { path: "datasets/demo/reference.csv" },
    current: { kind: "csv", path: "datasets/demo/current.csv" },
  });
  await nav("Monitoring");
  await page.getByRole("link", { name: "churn-drift" }).click();
  await page.getByRole("heading", { name: "Monitor churn-drift" }).waitFor();
  await page.getByText("No reports yet").waitFor();
  await page.getByRole("button", { name: "Run check now" }).click();
  await page.getByRole("heading", { name: "Per-feature results" }).waitFor();
  await page.getByRole("figure", { name: /Distribution of/ }).waitFor();
  await page.getByRole("figure", { name: "Score of f0 over time" }).waitFor();
  await screenshot("monitor-detail");
  await nav("Monitoring");
  await screenshot("monitoring");
  ok(!!monitor.id, "monitor created");

  ok(await page.getByRole("button", { name: /Acknowledge drift/ }).isDisabled(), "ml_engineer cannot acknowledge alarms");

  step("acknowledge the drift alarm as admin");
  await logout();
  await login(ADMIN);
  await nav("Monitoring");
  await page.getByRole("button", { name: /Acknowledge drift/ }).click();
  await page.getByRole("cell", { name: "acknowledged", exact: true }).waitFor();
  await screenshot("monitoring-acknowledged");

  step("request a staging deployment");
  await nav("CI/CD");
  const dform = page.getByRole("form", { name: "Request a deployment" });
  await dform.getByLabel("Project").selectOption("demo");
  await dform.getByLabel("Model", { exact: true }).selectOption("churn");
  await dform.getByLabel("Version or alias").fill("1");
  await dform.getByLabel("Environment").selectOption("staging");
  await dform.getByText(/staging: 1 approval/).waitFor();
  await dform.getByRole("button", { name: "Request deployment" }).click();
  await dform.getByRole("status").getByText("PENDING_APPROVAL").waitFor();
  const pending = page.getByRole("heading", { name: "Pending approvals" }).locator("xpath=following-sibling::table[1]");
  await pending.getByRole("cell", { name: "staging", exact: true }).waitFor();
  ok((await pending.getByRole("button", { name: "Approve" }).getAttribute("title")).includes("someone else"), "the requester cannot approve");
  await screenshot("cicd-pending-approval");
  await logout();

  step("approve it as a production_team user; it goes live");
  await login(PROD);
  await nav("CI/CD");
  await pending.getByRole("button", { name: "Approve" }).click();
  await page.getByText("Nothing waits for approval").waitFor();
  await page.getByRole("heading", { name: "Deployments", exact: true }).locator("xpath=following-sibling::table[1]").getByRole("link").first().click();
  await page.getByRole("heading", { name: /^Deployment / }).waitFor();
  await page.locator(".props .badge", { hasText: /^LIVE$/ }).waitFor({ timeout: 120000 });
  await page.getByRole("list", { name: "Deployment timeline" }).getByText(/LIVE/).first().waitFor();
  ok(await page.getByText(/paul\s+approved/).isVisible(), "the approval is recorded");
  await screenshot("deployment-detail");
  await logout();
  await login(MLE);

  step("dashboard as the ml_engineer");
  await nav("Dashboard");
  await page.getByRole("heading", { name: "Recent activity" }).waitFor();
  await screenshot("dashboard");

  step("everything is in the audit log");
  await nav("Audit");
  await page.getByText(/Hash chain intact over \d+ events/).waitFor();
  for (const action of ["user.create", "project.create", "artifact.upload", "model_version.create", "pipeline.stage.lock", "monitor.create", "monitor.run", "alarm.ack", "pipeline.run.start", "deployment.create", "deployment.approve"]) {
    await page.getByLabel("Action", { exact: true }).fill(action);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("cell", { name: action, exact: true }).first().waitFor();
  }
  await page.getByRole("button", { name: "Clear" }).click();
  await page.getByRole("cell", { name: "project.create", exact: true }).first().waitFor();
  await screenshot("audit");

  ok(consoleErrors.length === 0, `no browser console errors:\n  ${consoleErrors.join("\n  ")}`);
}

let failed = false;
try {
  await main();
} catch (e) {
  failed = true;
  console.error(`✗ failed during: ${steps[steps.length - 1]}\n${e.stack ?? e}`);
  if (consoleErrors.length) console.error(`browser console errors:\n  ${consoleErrors.join("\n  ")}`);
  try {
    const p = context?.pages()[0];
    if (p) await p.screenshot({ path: path.join(OUT, "failure.png"), fullPage: true });
  } catch {
    /* best effort */
  }
} finally {
  await context?.close().catch(() => {});
  if (server) {
    if (server.exitCode === null) {
      const exited = new Promise((r) => server.once("exit", r));
      server.kill("SIGTERM");
      await exited;
    }
  }
  if (!KEEP) fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`${steps.length} steps, ${passed} checks; screenshots in ${OUT}`);
console.log(failed ? `0 passed, 1 failed` : `1 passed, 0 failed`);
process.exit(failed ? 1 : 0);
