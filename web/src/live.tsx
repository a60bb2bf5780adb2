import { useEffect, useRef, useState } from 'preact/hooks';
import { followEvents, type StreamEvent, type StreamState } from './api/sse';

/** Waits this long after an event for its siblings (a pass writes several at once). */
const SETTLE_MS = 150;
/** At most one reload of the page's data per this interval. */
const MIN_INTERVAL_MS = 3_000;

/**
 * Follows the organisation's live events while the page is shown. `onChange` runs after events
 * (throttled) and whenever the stream (re)connects, so a page catches up on whatever
 * happened while it was down.
 */
export function useLiveEvents(
  orgId: number,
  /** Returns whether the event changes what the page shows (false: no reload for it). */
  onEvent: (e: StreamEvent) => boolean,
  onChange: () => void,
): StreamState {
  const [state, setState] = useState<StreamState>('connecting');
  const handlers = useRef({ onEvent, onChange });
  handlers.current = { onEvent, onChange };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = 0;
    // Throttled, not per event: a busy organisation must not run the page into the API's rate
    // limit (THROTTLE_LIMIT per user). The feed itself shows each event at once.
    const changed = (): void => {
      if (timer !== undefined) return;
      const wait = Math.max(SETTLE_MS, last + MIN_INTERVAL_MS - Date.now());
      timer = setTimeout(() => {
        timer = undefined;
        last = Date.now();
        handlers.current.onChange();
      }, wait);
    };
    const stop = followEvents(
      orgId,
      (e) => {
        if (handlers.current.onEvent(e)) changed();
      },
      (s) => {
        setState(s);
        if (s === 'live') changed();
      },
    );
    return () => {
      clearTimeout(timer);
      stop();
    };
  }, [orgId]);
  return state;
}

export function LiveBadge({ state }: { state: StreamState }) {
  const text =
    state === 'live'
      ? 'Live'
      : state === 'connecting'
        ? 'Connecting…'
        : state === 'reconnecting'
          ? 'Stream down: reconnecting…'
          : 'Live updates off';
  return (
    <span class={`live ${state}`} role="status" aria-live="polite" data-stream={state}>
      {text}
    </span>
  );
}
