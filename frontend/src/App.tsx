import { useEffect, type ReactNode } from "react";
import { AuthProvider, useAuth } from "./lib/auth";
import { CapabilitiesProvider, useFeature } from "./lib/capabilities";
import { Link, match, useLocation } from "./lib/router";
import { Loading } from "./components/ui";
import { LoginPage } from "./pages/Login";
import { DashboardPage } from "./pages/Dashboard";
import { ProjectsPage, ProjectDetailPage } from "./pages/Projects";
import { ModelsPage, ModelDetailPage, VersionDetailPage } from "./pages/Models";
import { PipelinesPage } from "./pages/Pipelines";
import { MonitoringPage, MonitorDetailPage } from "./pages/Monitoring";
import { AdminPage } from "./pages/Admin";
import { AuditPage } from "./pages/Audit";
import { CicdPage, RunDetailPage, DeploymentDetailPage } from "./pages/Cicd";

export function App() {
  return (
    <AuthProvider>
      <Shell />
    </AuthProvider>
  );
}

function Shell() {
  const { me, checking } = useAuth();
  if (checking) return <Loading what="session" />;
  if (!me) return <LoginPage />;
  return (
    <CapabilitiesProvider fallback={<Loading what="server capabilities" />}>
      <Layout />
    </CapabilitiesProvider>
  );
}

interface NavItem {
  to: string;
  label: string;
  show: boolean;
}

function Layout() {
  const { me, logout } = useAuth();
  const { path } = useLocation();
  const hasRuns = useFeature("runs");
  const hasDeployments = useFeature("deployments");
  const hasMonitors = useFeature("monitors");
  const hasPipelines = useFeature("pipelines");
  const nav: NavItem[] = [
    { to: "/", label: "Dashboard", show: true },
    { to: "/projects", label: "Projects", show: true },
    { to: "/models", label: "Models", show: true },
    { to: "/pipelines", label: "Pipelines", show: hasPipelines },
    { to: "/cicd", label: "CI/CD", show: hasRuns || hasDeployments },
    { to: "/monitoring", label: "Monitoring", show: hasMonitors },
    { to: "/admin", label: "Admin", show: true },
    { to: "/audit", label: "Audit", show: true },
  ];
  const active = (to: string) => (to === "/" ? path === "/" : path === to || path.startsWith(to + "/"));
  const current = nav.find((n) => n.show && active(n.to));
  useEffect(() => {
    document.title = `${current?.label ?? "MLOps Studio"} · MLOps Studio`;
  }, [current?.label]);

  return (
    <div className="layout">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">MLOps Studio</span>
        <div className="whoami" aria-label="Current user">
          <span className="username">{me!.username}</span>
          <span className="roles">{me!.roles.join(", ") || "no roles"}</span>
          <button type="button" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </header>
      <nav className="sidebar" aria-label="Main">
        <ul>
          {nav
            .filter((n) => n.show)
            .map((n) => (
              <li key={n.to}>
                <Link to={n.to} aria-current={active(n.to) ? "page" : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <Routes path={path} hasCicd={hasRuns || hasDeployments} hasMonitors={hasMonitors} hasPipelines={hasPipelines} />
      </main>
    </div>
  );
}

function Routes({ path, hasCicd, hasMonitors, hasPipelines }: { path: string; hasCicd: boolean; hasMonitors: boolean; hasPipelines: boolean }) {
  const table: [string, boolean, (p: Record<string, string>) => ReactNode][] = [
    ["/", true, () => <DashboardPage />],
    ["/projects", true, () => <ProjectsPage />],
    ["/projects/:name", true, (p) => <ProjectDetailPage name={p.name} />],
    ["/models", true, () => <ModelsPage />],
    ["/models/:name", true, (p) => <ModelDetailPage name={p.name} />],
    ["/models/:name/versions/:version", true, (p) => <VersionDetailPage name={p.name} version={p.version} />],
    ["/pipelines", hasPipelines, () => <PipelinesPage />],
    ["/cicd", hasCicd, () => <CicdPage />],
    ["/runs/:id", hasCicd, (p) => <RunDetailPage id={p.id} />],
    ["/deployments/:id", hasCicd, (p) => <DeploymentDetailPage id={p.id} />],
    ["/monitoring", hasMonitors, () => <MonitoringPage />],
    ["/monitoring/:id", hasMonitors, (p) => <MonitorDetailPage id={p.id} />],
    ["/admin", true, () => <AdminPage />],
    ["/audit", true, () => <AuditPage />],
  ];
  for (const [pattern, enabled, render] of table) {
    const params = match(pattern, path);
    if (params && enabled) return <>{render(params)}</>;
  }
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. Go to the <Link to="/">dashboard</Link>.
      </p>
    </section>
  );
}
