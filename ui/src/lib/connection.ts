// The job queue's connection. The shell opens the queue in the background, so the window
// works before it is open and while a shared queue cannot be reached; the banner
// (QueueBanner) says why, and what needs the queue waits until it opens.
import { derived, get, writable } from 'svelte/store';
import { call, on } from './api';
import type { MessageKey, Params } from './i18n';
import { pushToast } from './toasts';
import type { QueueConnection } from './types';

export const connection = writable<QueueConnection | null>(null);

/** Whether what needs the queue can run (also before the state is known, and with a shell that does not tell). */
export const queueUsable = derived(connection, (c) => c === null || c.state === 'open');

export interface ConnectionNotice {
  /** 'info' while connecting; 'problem' when the queue is not open. */
  level: 'info' | 'problem';
  title: { key: MessageKey; params: Params };
  /** What happens next, or what to do. */
  next: MessageKey | null;
  /** Whether to offer "Try now" and "Open settings". */
  actions: boolean;
}

/** What the banner says about the connection; null when there is nothing to say. */
export function connectionNotice(c: QueueConnection | null): ConnectionNotice | null {
  if (!c || c.state === 'open') return null;
  if (c.state === 'opening') {
    // The queue on this computer opens at once: nothing to say.
    return c.shared ? { level: 'info', title: { key: 'conn.opening', params: { url: c.shared } }, next: null, actions: false } : null;
  }
  const cause = c.cause ?? c.problem ?? '';
  if (c.shared) {
    return c.retrying
      ? { level: 'problem', title: { key: 'conn.unreachable', params: { url: c.shared, cause } }, next: 'conn.retrying', actions: true }
      : { level: 'problem', title: { key: 'conn.unusable', params: { url: c.shared, cause } }, next: 'conn.fixInSettings', actions: true };
  }
  return { level: 'problem', title: { key: 'conn.localFailed', params: { cause } }, next: c.retrying ? 'conn.retryingLocal' : null, actions: true };
}

/** Whether a command failed because the queue is not open (the banner already says why). */
export function isUnavailable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'unavailable';
}

/**
 * Follows the connection: its state now, then its changes. `opened` runs once, when the
 * queue is open (at once if it already is). Returns the unlisten function.
 */
export async function followConnection(opened: () => void): Promise<() => void> {
  let told = false;
  let heard = false;
  let wasProblem = false;
  const apply = (c: QueueConnection) => {
    const before = get(connection);
    if (before?.state === 'open') return; // it stays open
    connection.set(c);
    if (c.state === 'unavailable') wasProblem = true;
    if (c.state === 'open' && !told) {
      told = true;
      opened();
      if (wasProblem) {
        pushToast(c.shared ? { kind: 'success', title: { key: 'conn.connected', params: { url: c.shared } } } : { kind: 'success', title: { key: 'conn.opened' } });
      }
    }
  };
  const unlisten = await on('queue-connection', (c) => {
    heard = true;
    apply(c);
  });
  const now = await call('queue_connection');
  // An event heard meanwhile is newer than this answer.
  if (!heard) apply(now);
  return unlisten;
}

/** "Try now": the shell tries to open the queue at once. */
export async function retryConnection(): Promise<void> {
  const c = await call('reconnect_queue');
  if (get(connection)?.state !== 'open') connection.set(c);
}
