import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type Deployment = Schemas['DeploymentDto'];
export type Cluster = Schemas['ClusterDto'];
export type Organization = Schemas['OrganizationDto'];
export type Role = 'admin' | 'developer' | 'viewer';

/** An RFC 9457 problem as the API sends it (`errors` on 422), thrown by `call`. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail?: string,
    readonly errors?: { field: string; message: string }[],
    readonly title?: string,
  ) {
    super(detail ?? code);
  }
}

const TOKEN_KEY = 'berth.token';

/** The access token lives for the tab (sessionStorage): a new tab signs in again. */
export const auth = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
  /** Called when the API answers 401 to a signed-in request (token expired or revoked). */
  onExpired: (): void => undefined,
};

const bearer: Middleware = {
  onRequest({ request }) {
    const token = auth.token;
    if (token) request.headers.set('authorization', `Bearer ${token}`);
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && request.headers.has('authorization')) auth.onExpired();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: location.origin });
api.use(bearer);

/** Turns whatever an error body is into a Problem the UI can show. */
export function toProblem(error: unknown, response?: Response): Problem {
  if (error instanceof Problem) return error;
  const status = response?.status ?? 0;
  if (error && typeof error === 'object' && 'code' in error) {
    const e = error as {
      code: string;
      detail?: string;
      title?: string;
      errors?: Problem['errors'];
    };
    return new Problem(status, e.code, e.detail, e.errors, e.title);
  }
  return new Problem(status, 'network/error', 'The service did not answer. Try again.');
}

/** Unwraps an openapi-fetch result: the data, or throws the Problem. */
export async function call<T>(
  p: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await p;
  } catch (err) {
    throw toProblem(err);
  }
  if (r.error !== undefined || !r.response.ok) throw toProblem(r.error, r.response);
  return r.data as T;
}

export function isProblem(e: unknown): e is Problem {
  return e instanceof Problem;
}
