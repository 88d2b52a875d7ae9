// Messages shown in the aria-live toast region.
import { writable } from 'svelte/store';
import type { CommandError } from './types';
import { errorTitleKey } from './command-error';
import { tNow } from './i18n';

export type ToastKind = 'info' | 'success' | 'warning' | 'error';

export interface Toast {
  id: number;
  kind: ToastKind;
  title: string;
  message?: string;
  /** Technical detail behind a "Details" disclosure. */
  detail?: string | null;
  /** Lines listed under the message, e.g. rejected files and why. */
  lines?: { label: string; text: string; hint?: string }[];
}

const AUTO_DISMISS_MS: Record<ToastKind, number | null> = { info: 5000, success: 5000, warning: null, error: null };

const list = writable<Toast[]>([]);
export const toasts = { subscribe: list.subscribe };

let nextId = 1;

export function pushToast(toast: Omit<Toast, 'id'>): number {
  const id = nextId++;
  list.update((all) => [...all.slice(-5), { ...toast, id }]);
  const after = AUTO_DISMISS_MS[toast.kind];
  if (after !== null && typeof setTimeout === 'function') setTimeout(() => dismissToast(id), after);
  return id;
}

export function dismissToast(id: number): void {
  list.update((all) => all.filter((t) => t.id !== id));
}

export function clearToasts(): void {
  list.set([]);
}

/** A failed command as a toast: plain message, technical detail behind "Details". */
export function toastError(error: CommandError, title?: string): number {
  return pushToast({ kind: 'error', title: title ?? tNow(errorTitleKey(error)), message: error.message, detail: error.detail });
}
