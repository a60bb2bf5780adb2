import { auth } from './client';

/** One row of `GET /deployments/events/stream` (DeploymentStreamEventDto in the spec). */
export interface StreamEvent {
  id: number;
  /** queued | placed | preempted | completed | failed | cancelled */
  type: string;
  deployment_id: number;
  deployment_name: string;
  priority: number;
  organization_id: number;
  cluster_id: number | null;
  from_status: string | null;
  to_status: string | null;
  actor: string | null;
  actor_user_id: number | null;
  code: string | null;
  reason: string | null;
  created_at: string;
}

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'closed';

const MAX_BACKOFF_MS = 15_000;

/**
 * Follows the organisation's live events. EventSource cannot send the bearer token, so this
 * reads the SSE stream with fetch, and on any drop reconnects (backing off) with
 * `Last-Event-ID` set to the last event seen, which the server replays from.
 */
export function followEvents(
  organizationId: number,
  onEvent: (e: StreamEvent) => void,
  onState: (s: StreamState) => void,
): () => void {
  let stopped = false;
  let lastId: string | undefined;
  let retryMs = 2_000;
  let failures = 0;
  let ctrl = new AbortController();

  const connect = async (): Promise<'again' | 'stop'> => {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (auth.token) headers.authorization = `Bearer ${auth.token}`;
    if (lastId) headers['last-event-id'] = lastId;
    const res = await fetch(`/deployments/events/stream?organization_id=${organizationId}`, {
      headers,
      signal: ctrl.signal,
      cache: 'no-store',
    });
    if (res.status === 401) {
      auth.onExpired();
      return 'stop';
    }
    if (res.status === 404) return 'stop';
    if (res.status === 422 && lastId) {
      lastId = undefined; // an id the server no longer accepts: start from now
      return 'again';
    }
    if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
    failures = 0;
    onState('live');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'again';
      buf += value.replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        dispatch(buf.slice(0, end));
        buf = buf.slice(end + 2);
      }
    }
  };

  const dispatch = (block: string): void => {
    let id: string | undefined;
    let data = '';
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'data') data += (data ? '\n' : '') + value;
      else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (id !== undefined) lastId = id;
    if (!data) return;
    try {
      onEvent(JSON.parse(data) as StreamEvent);
    } catch {
      /* not an event we understand: skip it */
    }
  };

  void (async () => {
    onState('connecting');
    while (!stopped) {
      let next: 'again' | 'stop' = 'again';
      try {
        next = await connect();
      } catch {
        failures++;
      }
      if (stopped) break;
      if (next === 'stop') {
        onState('closed');
        break;
      }
      onState('reconnecting');
      const wait = Math.min(retryMs * 2 ** Math.max(0, failures - 1), MAX_BACKOFF_MS);
      await new Promise((r) => setTimeout(r, wait));
      ctrl = new AbortController();
    }
  })();

  return () => {
    stopped = true;
    ctrl.abort();
  };
}
