import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** The dashboard lives under /ui; its routes are plain paths below it (history API). */
export const BASE = '/ui';

function current(): string {
  const rest = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '/';
  return rest === '' ? '/' : rest;
}

export function navigate(to: string, replace = false): void {
  const url = BASE + to;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function usePath(): string {
  const [path, setPath] = useState(current());
  useEffect(() => {
    const on = (): void => setPath(current());
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return path;
}

/** Matches `/orgs/:org/deployments/:id` style patterns; numbers only for `:params`. */
export function match(pattern: string, path: string): Record<string, number> | null {
  const p = pattern.split('/');
  const s = path.replace(/\/$/, '').split('/');
  if (p.length !== s.length) return null;
  const out: Record<string, number> = {};
  for (let i = 0; i < p.length; i++) {
    const want = p[i] ?? '';
    const got = s[i] ?? '';
    if (want.startsWith(':')) {
      if (!/^\d{1,10}$/.test(got)) return null;
      out[want.slice(1)] = Number(got);
    } else if (want !== got) return null;
  }
  return out;
}

interface LinkProps {
  to: string;
  class?: string;
  children: ComponentChildren;
}

/** An in-app link: a real href (open in new tab works), navigation without reload on click. */
export function Link({ to, children, class: cls }: LinkProps): JSX.Element {
  return (
    <a
      class={cls}
      href={BASE + to}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
