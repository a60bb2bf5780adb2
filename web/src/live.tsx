import { useEffect, useRef, useState } from 'preact/hooks';
import { followEvents, type StreamEvent, type StreamState } from './api/sse';

/**
 * Follows the organisation's live events while the page is shown. `onChange` runs after each
 * event (debounced) and whenever the stream (re)connects, so a page catches up on whatever
 * happened while it was down.
 */
export function useLiveEvents(
  orgId: number,
  onEvent: (e: StreamEvent) => void,
  onChange: () => void,
): StreamState {
  const [state, setState] = useState<StreamState>('connecting');
  const handlers = useRef({ onEvent, onChange });
  handlers.current = { onEvent, onChange };
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const changed = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => handlers.current.onChange(), 150);
    };
    const stop = followEvents(
      orgId,
      (e) => {
        handlers.current.onEvent(e);
        changed();
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
