import type { CommandError } from './types';

const CODES: CommandError['code'][] = ['bad_request', 'not_found', 'failed'];

function isCommandError(value: unknown): value is CommandError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.code === 'string' &&
    (CODES as string[]).includes(v.code) &&
    typeof v.message === 'string'
  );
}

/**
 * Turns whatever a command rejected with into a CommandError. The shell rejects with
 * CommandError; anything else (a string from Tauri itself, a JS Error, a JSON string)
 * is mapped to code 'failed' with the raw text kept as the detail.
 */
export function toCommandError(error: unknown): CommandError {
  if (isCommandError(error)) {
    return { code: error.code, message: error.message, detail: error.detail ?? null };
  }
  if (typeof error === 'string') {
    const trimmed = error.trim();
    if (trimmed.startsWith('{')) {
      try {
        const parsed: unknown = JSON.parse(trimmed);
        if (isCommandError(parsed)) return toCommandError(parsed);
      } catch {
        // not JSON: fall through
      }
    }
    return { code: 'failed', message: trimmed || 'Unknown error', detail: null };
  }
  if (error instanceof Error) {
    return { code: 'failed', message: error.message || error.name, detail: error.stack ?? null };
  }
  if (typeof error === 'object' && error !== null) {
    const v = error as Record<string, unknown>;
    const message = typeof v.message === 'string' ? v.message : 'Unknown error';
    return { code: 'failed', message, detail: safeJson(error) };
  }
  return { code: 'failed', message: 'Unknown error', detail: error === undefined ? null : String(error) };
}

function safeJson(value: unknown): string | null {
  try {
    return JSON.stringify(value);
  } catch {
    return null;
  }
}

/** The i18n key of the headline shown above the message, by error code. */
export function errorTitleKey(error: CommandError): 'error.badRequest' | 'error.notFound' | 'error.failed' {
  switch (error.code) {
    case 'bad_request':
      return 'error.badRequest';
    case 'not_found':
      return 'error.notFound';
    default:
      return 'error.failed';
  }
}
