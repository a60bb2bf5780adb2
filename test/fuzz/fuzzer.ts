import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import type { TestContext } from '../support/app';
import { createCluster, createDeployment, createTeam } from '../support/factories';

/**
 * Schema-driven fuzzing of every operation in openapi.json: requests built by fast-check from
 * the documented parameter and body schemas, mixing valid values (known ids, well-formed names),
 * boundary values (limits ± 1, 0, 2^31, empty) and hostile ones (NUL and bidi characters, 1e-7,
 * 5,000-character strings, deep nesting, wrong types, mass-assignment fields). Every answer must
 * be below 500; every error problem+json with a documented `code`; every 2xx body valid against
 * the documented response schema.
 */
type Schema = Record<string, unknown>;
interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  op: Schema;
}
export interface FuzzRequest {
  op: string;
  method: Operation['method'];
  url: string;
  body?: unknown;
  raw?: string;
  form?: boolean;
  auth: 'admin' | 'viewer' | 'none' | 'bad';
}
export interface FuzzFailure {
  request: FuzzRequest;
  status: number;
  problem: string;
  body: string;
}
export interface FuzzReport {
  requests: number;
  byStatus: Record<string, number>;
  byOperation: Record<string, number>;
  failures: FuzzFailure[];
  seed: number;
  ms: number;
}

const ROOT = join(__dirname, '..', '..');
/** Streams never end: checked by their own e2e test, not here. */
const SKIPPED = new Set(['get /deployments/events/stream']);

export function loadSpec(): Schema {
  return JSON.parse(readFileSync(join(ROOT, 'openapi.json'), 'utf8')) as Schema;
}

/** Every `area/what` code the spec mentions (descriptions of responses and the API's intro). */
export function documentedCodes(spec: Schema): Set<string> {
  const text = JSON.stringify(spec);
  return new Set([...text.matchAll(/`([a-z_]+\/[a-z_.]+)`/g)].map((m) => m[1]!));
}

function operations(spec: Schema): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(spec.paths as Record<string, Schema>)) {
    for (const [method, op] of Object.entries(item)) {
      if (SKIPPED.has(`${method} ${path}`)) continue;
      ops.push({ method: method as Operation['method'], path, op: op as Schema });
    }
  }
  return ops;
}

function deref(spec: Schema, s: Schema | undefined): Schema {
  let cur = s ?? {};
  for (let i = 0; i < 10 && typeof cur.$ref === 'string'; i++) {
    const name = cur.$ref.split('/').pop()!;
    cur = ((spec.components as Schema).schemas as Record<string, Schema>)[name] ?? {};
  }
  return cur;
}

// ---------------------------------------------------------------------------- value arbitraries

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  'tab\tnew\nline',
  '\u001b[31mred',
  '\u202egnp.exe',
  '\u200b',
  '\u2066\u2069',
  '\ud800',
  '😀😀',
  '%',
  '%00',
  '../../etc/passwd',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'null',
  '1e-7',
  '-1',
  '9'.repeat(40),
  'x'.repeat(5_000),
];
const HOSTILE_NUMBERS = [
  0,
  -0,
  -1,
  1e-7,
  5e-324,
  0.0005,
  0.001,
  1.0005,
  999_999.999,
  1_000_000,
  1_000_000.001,
  1e21,
  2_147_483_647,
  2_147_483_648,
  -2_147_483_649,
  Number.MAX_SAFE_INTEGER,
  2 ** 53 + 2,
  1.5,
  -1000,
  1001,
];

const deep = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
};

const hostileString = fc.oneof(
  fc.constantFrom(...HOSTILE_STRINGS),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const hostileNumber = fc.oneof(
  fc.constantFrom(...HOSTILE_NUMBERS),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.integer({ min: 10, max: 40 }).map(deep),
  fc.array(hostileNumber, { maxLength: 5 }),
);

export interface Known {
  ids: number[];
  userIds: number[];
  inviteCodes: string[];
}

/** Realistic values for the API's well-known field names. */
function validByName(name: string, known: Known): fc.Arbitrary<unknown> | undefined {
  const id = fc.constantFrom(...known.ids);
  switch (name) {
    case 'email':
      return fc.stringMatching(/^[0-9a-f]{4,8}$/).map((h: string) => `fz-${h}@example.com`);
    case 'username':
      return fc.stringMatching(/^[0-9a-f]{4,8}$/).map((h: string) => `fz_${h}`);
    case 'password':
      return fc.constant('fuzz-password-1');
    case 'docker_image':
      return fc.constantFrom(
        'nginx',
        'nginx:1.27',
        'ghcr.io/acme/api:1.4',
        'redis@sha256:' + 'a'.repeat(64),
      );
    case 'name':
      return fc.stringMatching(/^[0-9a-f]{1,12}$/).map((h: string) => `fz-${h}`);
    case 'role':
      return fc.constantFrom('admin', 'developer', 'viewer');
    case 'status':
      return fc.constantFrom('pending', 'running', 'completed', 'failed', 'cancelled');
    case 'user_id':
      return fc.constantFrom(...known.userIds);
    case 'invite_code':
      return fc.constantFrom(...known.inviteCodes);
    case 'id':
    case 'cluster_id':
    case 'organization_id':
      return id;
    case 'required_ram':
    case 'required_cpu':
    case 'required_gpu':
    case 'total_ram':
    case 'total_cpu':
    case 'total_gpu':
      return fc.constantFrom(0, 0.5, 1, 2, 4, 0.001);
    case 'depends_on':
      return fc.array(id, { maxLength: 2 });
    default:
      return undefined;
  }
}

function boundary(s: Schema): fc.Arbitrary<unknown> {
  const out: unknown[] = [];
  for (const k of ['minimum', 'maximum'] as const) {
    if (typeof s[k] === 'number') out.push(s[k], s[k] - 1, s[k] + 1);
  }
  if (typeof s.maxLength === 'number')
    out.push('b'.repeat(s.maxLength), 'b'.repeat(s.maxLength + 1));
  if (typeof s.minLength === 'number' && s.minLength > 0) out.push('b'.repeat(s.minLength - 1));
  if (typeof s.maxItems === 'number') out.push(Array.from({ length: s.maxItems + 1 }, () => 1));
  if (Array.isArray(s.enum)) out.push(...(s.enum as unknown[]), `${String(s.enum[0])}x`);
  return out.length ? fc.constantFrom(...out) : hostileValue;
}

/** An arbitrary for a value of schema `s` (field `name`): mostly valid, sometimes not. */
function fromSchema(
  spec: Schema,
  raw: Schema | undefined,
  name: string,
  known: Known,
  depth = 0,
): fc.Arbitrary<unknown> {
  const s = deref(spec, raw);
  const valid = validByName(name, known) ?? plain(spec, s, known, depth);
  return fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 2, arbitrary: boundary(s) },
    { weight: 2, arbitrary: hostileValue },
  );
}

function plain(spec: Schema, s: Schema, known: Known, depth: number): fc.Arbitrary<unknown> {
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  switch (s.type) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, Schema>;
      const required = new Set((s.required as string[] | undefined) ?? []);
      const fields: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) {
        fields[k] = depth > 3 ? hostileValue : fromSchema(spec, v, k, known, depth + 1);
      }
      const optional = Object.keys(props).filter((k) => !required.has(k));
      return fc
        .tuple(
          fc.record(fields, { requiredKeys: [...required].filter((k) => k in fields) }),
          fc.subarray(optional),
          fc.option(
            fc.constantFrom<Record<string, unknown>>(
              { is_active: false },
              { role: 'admin' },
              { id: 1 },
              { user_id: 1 },
              { available_ram: 1e6 },
              { hashed_password: 'x' },
            ),
            { freq: 5 },
          ),
        )
        .map(([rec, keep, extra]) => {
          const out: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(rec))
            if (required.has(k) || keep.includes(k)) out[k] = v;
          return { ...out, ...(extra ?? {}) };
        });
    }
    case 'array':
      return fc.array(fromSchema(spec, s.items as Schema, 'item', known, depth + 1), {
        maxLength: 3,
      });
    case 'integer':
    case 'number': {
      const min = typeof s.minimum === 'number' ? s.minimum : -1e6;
      const max = typeof s.maximum === 'number' ? s.maximum : 1e6;
      return fc.integer({ min: Math.ceil(min), max: Math.floor(max) });
    }
    case 'boolean':
      return fc.boolean();
    case 'string':
      return fc.string({
        minLength: (s.minLength as number | undefined) ?? 0,
        maxLength: Math.min((s.maxLength as number | undefined) ?? 20, 20),
      });
    default:
      return hostileValue;
  }
}

const asParam = (v: unknown): string =>
  typeof v === 'string'
    ? v
    : v === null || v === undefined
      ? ''
      : typeof v === 'number' || typeof v === 'boolean'
        ? String(v)
        : JSON.stringify(v);

/** encodeURIComponent, except that a lone surrogate is sent as the bytes Node would send. */
function encodePath(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return [...Buffer.from(text, 'utf8')]
      .map((b) => `%${b.toString(16).padStart(2, '0')}`)
      .join('');
  }
}

function requestArbitrary(spec: Schema, o: Operation, known: Known): fc.Arbitrary<FuzzRequest> {
  const params = ((o.op.parameters as Schema[] | undefined) ?? []).filter((p) => p.in !== 'header');
  const paramArbs: Record<string, fc.Arbitrary<unknown>> = {};
  for (const p of params)
    paramArbs[p.name as string] = fromSchema(spec, p.schema as Schema, p.name as string, known);
  const content = ((o.op.requestBody as Schema | undefined)?.content ?? {}) as Record<
    string,
    Schema
  >;
  const bodySchema = (content['application/json'] ?? content['application/x-www-form-urlencoded'])
    ?.schema as Schema | undefined;
  const body: fc.Arbitrary<unknown> = bodySchema
    ? fc.oneof(
        { weight: 8, arbitrary: fromSchema(spec, bodySchema, 'body', known) },
        { weight: 1, arbitrary: hostileValue },
      )
    : fc.constant(undefined);
  const raw = fc.option(
    fc.constantFrom(
      '{"name":',
      `{"name":${'['.repeat(3_000)}${']'.repeat(3_000)}}`,
      '{"__proto__":{"is_admin":true},"name":"p"}',
      '{"constructor":{"prototype":{"x":1}}}',
      'null',
      '[]',
      '"text"',
      `{"name":"${'z'.repeat(60_000)}"}`,
    ),
    { freq: 12 },
  );
  return fc
    .record({
      params: fc.record(paramArbs, { requiredKeys: [] }),
      body,
      raw,
      form: fc.boolean(),
      auth: fc.constantFrom<FuzzRequest['auth']>(
        'admin',
        'admin',
        'admin',
        'viewer',
        'none',
        'bad',
      ),
    })
    .map(({ params: values, body: b, raw: r, form, auth }) => {
      let path = o.path;
      const query = new URLSearchParams();
      for (const p of params) {
        const name = p.name as string;
        let v = values[name];
        if (p.in === 'path') {
          if (v === undefined) v = validByName(name, known) ? undefined : 1;
          const text = asParam(v ?? known.ids[0]);
          path = path.replace(`{${name}}`, encodePath(text) || '%20');
        } else if (v !== undefined) {
          query.set(name, asParam(v));
        }
      }
      const qs = query.toString();
      return {
        op: `${o.method.toUpperCase()} ${o.path}`,
        method: o.method,
        url: qs ? `${path}?${qs}` : path,
        ...(bodySchema ? (r !== null ? { raw: r } : { body: b }) : {}),
        form: o.path === '/token' && form,
        auth,
      };
    });
}

// ---------------------------------------------------------------------------- the checks

function responseValidators(
  spec: Schema,
): (op: Operation, status: number) => ValidateFunction | undefined {
  const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: true });
  addFormats(ajv);
  const text = JSON.stringify({
    $id: 'openapi',
    components: toJsonSchema(spec.components),
  }).replace(/"#\/components\//g, '"openapi#/components/');
  ajv.addSchema(JSON.parse(text) as Schema);
  const cache = new Map<string, ValidateFunction | undefined>();
  return (op, status) => {
    const key = `${op.method} ${op.path} ${status}`;
    if (!cache.has(key)) {
      const r = (op.op.responses as Record<string, Schema>)[String(status)] ?? undefined;
      const schema = ((r?.content as Record<string, Schema> | undefined)?.['application/json']
        ?.schema ?? undefined) as Schema | undefined;
      cache.set(
        key,
        schema
          ? ajv.compile(
              JSON.parse(
                JSON.stringify(schema).replace(/"#\/components\//g, '"openapi#/components/'),
              ) as Schema,
            )
          : undefined,
      );
    }
    return cache.get(key);
  };
}

/**
 * OpenAPI 3.0's `nullable: true` is not JSON Schema: `{nullable, ...s}` means "null, or s"
 * (the usual translation), which also covers a nullable enum or a nullable allOf/$ref.
 */
function toJsonSchema(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toJsonSchema);
  if (v === null || typeof v !== 'object') return v;
  const { nullable, ...rest } = v as Schema;
  const out = Object.fromEntries(Object.entries(rest).map(([k, x]) => [k, toJsonSchema(x)]));
  return nullable === true ? { anyOf: [{ type: 'null' }, out] } : out;
}

export async function setUpWorld(
  ctx: TestContext,
): Promise<{ known: Known; tokens: Record<string, string> }> {
  const team = await createTeam(ctx);
  const cluster = await createCluster(ctx, team.admin, team.org.id, {
    total_ram: 64,
    total_cpu: 64,
  });
  const d1 = await createDeployment(ctx, team.admin, {
    cluster_id: cluster.id,
    required_ram: 1,
    required_cpu: 1,
  });
  const d2 = await createDeployment(ctx, team.developer, {
    organization_id: team.org.id,
    required_ram: 1,
    required_cpu: 1,
  });
  const ids = [...new Set([1, 2, team.org.id, team.otherOrg.id, cluster.id, d1.id, d2.id])];
  return {
    known: {
      ids,
      userIds: [team.admin.id, team.developer.id, team.viewer.id, team.outsider.id],
      inviteCodes: [team.org.invite_code, team.otherOrg.invite_code],
    },
    tokens: { admin: team.admin.token, viewer: team.viewer.token },
  };
}

export async function fuzz(
  ctx: TestContext,
  options: { seed: number; requests: number; metricsToken?: string; log?: (line: string) => void },
): Promise<FuzzReport> {
  const started = Date.now();
  const spec = loadSpec();
  const codes = documentedCodes(spec);
  const validator = responseValidators(spec);
  const { known, tokens } = await setUpWorld(ctx);
  const ops = operations(spec);
  const report: FuzzReport = {
    requests: 0,
    byStatus: {},
    byOperation: {},
    failures: [],
    seed: options.seed,
    ms: 0,
  };
  const perOp = Math.ceil(options.requests / ops.length);
  let n = 0;
  for (const o of ops) {
    const samples = fc.sample(requestArbitrary(spec, o, known), {
      seed: options.seed + n++,
      numRuns: perOp,
    });
    for (const req of samples) {
      let t = ctx.http()[req.method](req.url);
      if (req.auth === 'admin' || req.auth === 'viewer')
        t = t.set('Authorization', `Bearer ${tokens[req.auth]}`);
      if (req.auth === 'bad') t = t.set('Authorization', 'Bearer not.a.token');
      if (o.path === '/metrics' && options.metricsToken && req.auth === 'admin') {
        t = t.set('Authorization', `Bearer ${options.metricsToken}`);
      }
      if (req.raw !== undefined) t = t.set('content-type', 'application/json').send(req.raw);
      else if (req.body !== undefined) {
        t =
          req.form && req.body && typeof req.body === 'object' && !Array.isArray(req.body)
            ? t
                .type('form')
                .send(Object.fromEntries(Object.entries(req.body).map(([k, v]) => [k, asParam(v)])))
            : t.set('content-type', 'application/json').send(JSON.stringify(req.body) ?? 'null');
      }
      const res = await t;
      report.requests++;
      report.byStatus[res.status] = (report.byStatus[res.status] ?? 0) + 1;
      report.byOperation[req.op] = (report.byOperation[req.op] ?? 0) + 1;
      const fail = (problem: string) =>
        report.failures.push({
          request: summarise(req),
          status: res.status,
          problem,
          body: res.text.slice(0, 300),
        });
      if (res.status >= 500 && !(o.path === '/health/ready' && res.status === 503)) {
        fail('5xx');
      } else if (res.status >= 400) {
        const type = String(res.headers['content-type'] ?? '');
        const code = (res.body as { code?: unknown } | undefined)?.code;
        if (!type.startsWith('application/problem+json')) fail(`error not problem+json (${type})`);
        else if (typeof code !== 'string' || !codes.has(code))
          fail(`undocumented code ${String(code)}`);
      } else if (res.status < 300) {
        const validate = validator(o, res.status);
        if (validate && !validate(res.body))
          fail(`2xx body invalid: ${JSON.stringify(validate.errors?.slice(0, 2))}`);
        else if (!(res.status in (o.op.responses as Schema)))
          fail(`undocumented status ${res.status}`);
      }
    }
    options.log?.(`${o.method.toUpperCase()} ${o.path}: ${perOp} requests`);
  }
  report.ms = Date.now() - started;
  return report;
}

function summarise(req: FuzzRequest): FuzzRequest {
  const cut = (v: unknown): unknown => {
    const s = JSON.stringify(v);
    return s && s.length > 200 ? `${s.slice(0, 200)}…` : v;
  };
  return { ...req, url: req.url.slice(0, 200), body: cut(req.body), raw: req.raw?.slice(0, 80) };
}
