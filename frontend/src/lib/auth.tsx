import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, ApiError, setUnauthenticatedHandler } from "./api";
import type { Permission } from "./rbac";

export interface Me {
  id: string;
  username: string;
  roles: string[];
  permissions: string[];
  auth_method?: string;
}

interface AuthValue {
  me: Me | null;
  checking: boolean;
  login: (username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
  can: (p: Permission) => boolean;
}

const MARKER = "studio.signedIn";
const remembered = () => localStorage.getItem(MARKER) === "1";
const forget = () => localStorage.removeItem(MARKER);

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(true);

  useEffect(() => {
    setUnauthenticatedHandler(() => {
      forget();
      setMe(null);
    });
    // The session cookie is HttpOnly; a marker says whether this browser signed in, so a fresh
    // visit shows the login page without a 401 round trip.
    if (!remembered()) {
      setChecking(false);
      return () => setUnauthenticatedHandler(null);
    }
    fetch("/api/v1/me", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(async (r) => {
        if (r.ok) return setMe(await r.json());
        forget();
        setMe(null);
      })
      .catch(() => setMe(null))
      .finally(() => setChecking(false));
    return () => setUnauthenticatedHandler(null);
  }, []);

  const login = useCallback(async (username: string, password: string) => {
    await api.post("/api/v1/auth/login", { username, password });
    setMe(await api.get<Me>("/api/v1/me"));
    localStorage.setItem(MARKER, "1");
  }, []);

  const logout = useCallback(async () => {
    try {
      await api.post("/api/v1/auth/logout");
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) throw e;
    }
    forget();
    setMe(null);
  }, []);

  const can = useCallback((p: Permission) => !!me && (p === "read" || me.permissions.includes(p)), [me]);

  return <AuthContext.Provider value={{ me, checking, login, logout, can }}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error("useAuth outside AuthProvider");
  return v;
}
