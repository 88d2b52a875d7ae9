// Keeps the selected item's detail fresh: fetched on select, on 'items-changed' for its key,
// and every ~1 s while it runs (transcript lines and slides appear as they are produced).
import { writable, type Readable } from 'svelte/store';
import type { CommandError, ItemDetail } from './types';
import { toCommandError } from './command-error';

export interface DetailLoaderOptions {
  fetch: (key: string) => Promise<ItemDetail>;
  intervalMs?: number;
}

export interface DetailLoader {
  detail: Readable<ItemDetail | null>;
  error: Readable<CommandError | null>;
  select(key: string | null): void;
  /** Call with the keys of an 'items-changed' event. */
  changed(keys: Iterable<string>): void;
  refresh(): Promise<void>;
  destroy(): void;
}

export function shouldPoll(detail: ItemDetail | null): boolean {
  return detail !== null && detail.row.state === 'running';
}

export function createDetailLoader({ fetch, intervalMs = 1000 }: DetailLoaderOptions): DetailLoader {
  const detail = writable<ItemDetail | null>(null);
  const error = writable<CommandError | null>(null);
  let key: string | null = null;
  let current: ItemDetail | null = null;
  let inFlight = false;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let destroyed = false;

  function clearTimer() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  }

  function schedule() {
    clearTimer();
    if (!destroyed && key !== null && shouldPoll(current)) timer = setTimeout(() => void refresh(), intervalMs);
  }

  async function refresh(): Promise<void> {
    if (destroyed || key === null) return;
    if (inFlight) {
      again = true;
      return;
    }
    const asked = key;
    inFlight = true;
    try {
      const result = await fetch(asked);
      if (asked === key && !destroyed) {
        current = result;
        detail.set(result);
        error.set(null);
      }
    } catch (e) {
      if (asked === key && !destroyed) error.set(toCommandError(e));
    } finally {
      inFlight = false;
    }
    if (again) {
      again = false;
      return refresh();
    }
    schedule();
  }

  return {
    detail: { subscribe: detail.subscribe },
    error: { subscribe: error.subscribe },
    select(next) {
      if (next === key) return;
      key = next;
      current = null;
      clearTimer();
      detail.set(null);
      error.set(null);
      again = inFlight; // a reply for the old key is dropped; fetch the new one after it
      if (!inFlight) void refresh();
    },
    changed(keys) {
      if (key === null) return;
      for (const k of keys) {
        if (k === key) {
          void refresh();
          return;
        }
      }
    },
    refresh,
    destroy() {
      destroyed = true;
      clearTimer();
    },
  };
}
