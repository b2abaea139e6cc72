import { useId, type ButtonHTMLAttributes, type ReactNode } from "react";
import { useAuth } from "../lib/auth";
import { whoCan, type Permission } from "../lib/rbac";
import { ApiError } from "../lib/api";
import type { AsyncState } from "../lib/useAsync";

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  const e = error as Error;
  const code = e instanceof ApiError ? e.code : "";
  return (
    <div className="error" role="alert">
      <strong>{code ? `${code}: ` : ""}</strong>
      {e?.message ?? String(error)}
      {e instanceof ApiError && e.details && (
        <ul>
          {Object.entries(e.details).map(([k, v]) => (
            <li key={k}>
              <code>{k}</code>: {v}
            </li>
          ))}
        </ul>
      )}
      {retry && (
        <button type="button" className="link" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

// Loading / error / empty / data for one request.
export function Async<T>({
  state,
  what,
  empty,
  isEmpty,
  children,
}: {
  state: AsyncState<T>;
  what: string;
  empty?: ReactNode;
  isEmpty?: (d: T) => boolean;
  children: (d: T) => ReactNode;
}) {
  if (state.error) return <ErrorBox error={state.error} retry={state.reload} />;
  if (state.data === undefined) return <Loading what={what} />;
  if (empty !== undefined && isEmpty?.(state.data)) return <Empty>{empty}</Empty>;
  return <>{children(state.data)}</>;
}

// A button for an action the user's roles may forbid: disabled with a tooltip naming who can.
export function Gated({
  perm,
  allowed,
  children,
  title,
  ...rest
}: { perm: Permission; allowed?: boolean; title?: string } & ButtonHTMLAttributes<HTMLButtonElement>) {
  const { can } = useAuth();
  const tipId = useId();
  const ok = (allowed ?? true) && can(perm);
  if (ok)
    return (
      <button type="button" title={title} {...rest}>
        {children}
      </button>
    );
  const tip = can(perm) ? title ?? "Not available" : whoCan(perm);
  return (
    <span className="gated" data-tooltip={tip}>
      <button type="button" {...rest} disabled aria-disabled="true" aria-describedby={tipId} title={tip}>
        {children}
      </button>
      <span id={tipId} role="tooltip" className="tooltip">
        {tip}
      </span>
    </span>
  );
}

export function Badge({ value }: { value: string }) {
  return <span className={`badge badge-${value.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`}>{value}</span>;
}

export function Field({ label, children, hint }: { label: string; children: (id: string) => ReactNode; hint?: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
      {hint && <small>{hint}</small>}
    </div>
  );
}

export function Pager({
  hasPrev,
  hasNext,
  onPrev,
  onNext,
  label,
}: {
  hasPrev: boolean;
  hasNext: boolean;
  onPrev: () => void;
  onNext: () => void;
  label: string;
}) {
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" onClick={onPrev} disabled={!hasPrev}>
        ← Newer
      </button>
      <button type="button" onClick={onNext} disabled={!hasNext}>
        Older →
      </button>
    </nav>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1>{title}</h1>
      <div className="actions">{children}</div>
    </header>
  );
}

export function Kpi({ label, value, sub }: { label: string; value: ReactNode; sub?: ReactNode }) {
  return (
    <section className="kpi" aria-label={label}>
      <div className="kpi-value">{value}</div>
      <div className="kpi-label">{label}</div>
      {sub && <div className="kpi-sub">{sub}</div>}
    </section>
  );
}

// The header row of a data table: one column header per label.
export function TableHead({ cols }: { cols: string[] }) {
  return (
    <thead>
      <tr>
        {cols.map((c) => (
          <th key={c} scope="col">
            {c}
          </th>
        ))}
      </tr>
    </thead>
  );
}

// The options of a project <select>: a "— choose —" placeholder, then one option per project name.
export function ProjectOptions({ projects }: { projects: readonly { id: string; name: string }[] }) {
  return (
    <>
      <option value="">— choose —</option>
      {projects.map((p) => (
        <option key={p.id} value={p.name}>
          {p.name}
        </option>
      ))}
    </>
  );
}

// Loading / error / empty for one list request, then a table with one row per item.
export function AsyncTable<T>({
  state,
  what,
  empty,
  cols,
  className = "table",
  children,
}: {
  state: AsyncState<T[]>;
  what: string;
  empty: ReactNode;
  cols: string[];
  className?: string;
  children: (item: T) => ReactNode;
}) {
  return (
    <Async state={state} what={what} isEmpty={(rows) => rows.length === 0} empty={empty}>
      {(rows) => (
        <table className={className}>
          <TableHead cols={cols} />
          <tbody>{rows.map((item) => children(item))}</tbody>
        </table>
      )}
    </Async>
  );
}
