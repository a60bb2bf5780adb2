import type { ComponentChildren, JSX } from 'preact';
import type { Problem } from './api/client';

/** Seconds → "42 s", "5 min", "3 h", "2 d". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  return duration(Math.max(0, (now - Date.parse(iso)) / 1000));
}

export function time(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export function amount(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(3).replace(/0+$/, '');
}

/** A problem's 422 field errors, by top-level field (`depends_on.0` → `depends_on`). */
export function fieldErrors(p: Problem | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of p?.errors ?? []) {
    const key = e.field.split('.')[0] ?? e.field;
    out[key] = out[key] ? `${out[key]}; ${e.message}` : e.message;
  }
  return out;
}

export function ErrorBanner({ problem }: { problem: Problem | null }): JSX.Element | null {
  if (!problem) return null;
  return (
    <p class="error" role="alert">
      {problem.detail ?? problem.title ?? 'Something went wrong'}
      {problem.code ? <code> {problem.code}</code> : null}
    </p>
  );
}

interface FieldProps {
  id: string;
  label: string;
  error?: string | undefined;
  hint?: string;
  children: (aria: {
    id: string;
    'aria-invalid'?: boolean;
    'aria-describedby'?: string;
  }) => ComponentChildren;
}

/** A labelled control with its API validation message beside it. */
export function Field({ id, label, error, hint, children }: FieldProps): JSX.Element {
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children({
        id,
        ...(error ? { 'aria-invalid': true } : {}),
        ...(described ? { 'aria-describedby': described } : {}),
      })}
      {hint ? (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      ) : null}
      {error ? (
        <small id={`${id}-error`} class="field-error" data-field-error={id}>
          {error}
        </small>
      ) : null}
    </div>
  );
}

/** Used / free bar of one resource; the numbers are in the text, the bar only shows them. */
export function Bar(props: {
  label: string;
  total: number;
  free: number;
  unit: string;
}): JSX.Element {
  const used = props.total - props.free;
  const pct = props.total > 0 ? Math.min(100, Math.round((used / props.total) * 100)) : 0;
  return (
    <div class="bar-row">
      <span class="bar-label">{props.label}</span>
      <div
        class={`bar${pct >= 90 ? ' full' : ''}`}
        role="meter"
        aria-label={`${props.label} used`}
        aria-valuemin={0}
        aria-valuemax={props.total}
        aria-valuenow={used}
      >
        <div class="bar-used" style={{ width: `${pct}%` }} />
      </div>
      <span class="bar-text">
        {amount(used)} / {amount(props.total)} {props.unit} used, {amount(props.free)} free
      </span>
    </div>
  );
}

export function StatusBadge({ status }: { status: string }): JSX.Element {
  return <span class={`badge s-${status}`}>{status}</span>;
}
