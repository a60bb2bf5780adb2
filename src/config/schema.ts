export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigValidationError';
  }
}

/** A tiny collecting parser for environment variables: every problem is reported at once. */
export function z(env: Record<string, string | undefined>) {
  const problems: string[] = [];
  const present = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  return {
    fail(name: string, message: string): void {
      problems.push(`${name} ${message}`);
    },
    int(name: string, o: { min: number; max: number; def: number }): number {
      const raw = present(name);
      if (raw === undefined) return o.def;
      if (!/^-?\d+$/.test(raw)) {
        problems.push(`${name} must be an integer (got "${raw}")`);
        return o.def;
      }
      const n = Number(raw);
      if (n < o.min || n > o.max) {
        problems.push(`${name} must be between ${o.min} and ${o.max} (got ${n})`);
        return o.def;
      }
      return n;
    },
    bool(name: string, def: boolean): boolean {
      const raw = present(name)?.toLowerCase();
      if (raw === undefined) return def;
      if (['true', '1', 'yes', 'on'].includes(raw)) return true;
      if (['false', '0', 'no', 'off'].includes(raw)) return false;
      problems.push(`${name} must be true or false (got "${raw}")`);
      return def;
    },
    str(name: string, pattern: RegExp, def: string): string {
      const raw = present(name);
      if (raw === undefined) return def;
      if (!pattern.test(raw)) problems.push(`${name} must match ${String(pattern)}`);
      return raw;
    },
    oneOf<T extends string>(name: string, values: readonly T[], def: T): T {
      const raw = present(name);
      if (raw === undefined) return def;
      if (!(values as readonly string[]).includes(raw)) {
        problems.push(`${name} must be one of ${values.join(', ')} (got "${raw}")`);
        return def;
      }
      return raw as T;
    },
    url(name: string, protocols: string[]): string | undefined {
      const raw = present(name);
      if (raw === undefined) return undefined;
      try {
        const u = new URL(raw);
        if (!protocols.includes(u.protocol)) {
          problems.push(`${name} must use ${protocols.join(' or ')}`);
        }
      } catch {
        problems.push(`${name} must be a valid URL`);
      }
      return raw;
    },
    done(): void {
      if (problems.length > 0) throw new ConfigValidationError(problems);
    },
  };
}
