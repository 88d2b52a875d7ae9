// Messages shown in the aria-live toast region.
import { writable } from 'svelte/store';
import type { CommandError } from './types';
import { errorTitleKey, splitMessage, toCommandError } from './command-error';
import type { MessageKey, Params, Translate } from './i18n';

export type ToastKind = 'info' | 'success' | 'warning' | 'error';

/**
 * Text of a toast: a dictionary key, translated when shown (so a toast follows a language
 * switch), or a string shown as it is (a file name, a message from the shell).
 */
export type ToastText = { key: MessageKey; params?: Params } | string;

export interface Toast {
  id: number;
  kind: ToastKind;
  title: ToastText;
  message?: ToastText;
  /** Technical detail behind a "Details" disclosure. */
  detail?: string | null;
  /** Lines listed under the message, e.g. rejected files and why. */
  lines?: { label: string; text: string; hint?: string }[];
}

const AUTO_DISMISS_MS: Record<ToastKind, number | null> = { info: 5000, success: 5000, warning: null, error: null };

const list = writable<Toast[]>([]);
export const toasts = { subscribe: list.subscribe };

let nextId = 1;

/** The text as shown in the current language. */
export function toastText(tr: Translate, text: ToastText): string {
  return typeof text === 'string' ? text : tr(text.key, text.params);
}

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

/**
 * A failed command as a toast: its message's first sentence in plain words; the whole
 * message and the technical detail behind "Details".
 */
export function errorToast(error: CommandError, title?: ToastText): Omit<Toast, 'id'> {
  const { headline, full } = splitMessage(error.message);
  const detail = [full, error.detail].filter((part): part is string => !!part && part.trim() !== '').join('\n\n');
  // The queue not being open is a state the banner shows, not a failure.
  const kind = error.code === 'unavailable' ? 'warning' : 'error';
  return { kind, title: title ?? { key: errorTitleKey(error) }, message: headline, detail: detail || null };
}

/** Shows a failed command (anything a command rejected with) as an error toast. */
export function toastError(error: unknown, title?: ToastText): number {
  return pushToast(errorToast(toCommandError(error), title));
}
