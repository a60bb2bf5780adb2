import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Organization, Role, Schemas } from './api/client';

export interface Session {
  me: Schemas['UserDto'];
  orgs: Organization[];
  reloadOrgs: () => Promise<Organization[]>;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

export function roleIn(s: Session, orgId: number): Role | null {
  const o = s.orgs.find((x) => x.id === orgId);
  return o ? o.role : null;
}

/** What a role may do (the API enforces the same; the UI only hides what would be refused). */
export const can = {
  submit: (r: Role | null): boolean => r === 'admin' || r === 'developer',
  manage: (r: Role | null): boolean => r === 'admin',
  act: (r: Role | null, ownerId: number, meId: number): boolean =>
    r === 'admin' || (r === 'developer' && ownerId === meId),
};
