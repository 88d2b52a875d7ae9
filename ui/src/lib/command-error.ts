import { tNow } from './i18n';
import type { CommandError } from './types';

const CODES: CommandError['code'][] = ['bad_request', 'not_found', 'unavailable', 'failed'];

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
    return { code: 'failed', message: trimmed || tNow('error.unknown'), detail: null };
  }
  if (error instanceof Error) {
    return { code: 'failed', message: error.message || error.name, detail: error.stack ?? null };
  }
  if (typeof error === 'object' && error !== null) {
    const v = error as Record<string, unknown>;
    const message = typeof v.message === 'string' ? v.message : tNow('error.unknown');
    return { code: 'failed', message, detail: safeJson(error) };
  }
  return { code: 'failed', message: tNow('error.unknown'), detail: error === undefined ? null : String(error) };
}

function safeJson(value: unknown): string | null {
  try {
    return JSON.stringify(value);
  } catch {
    return null;
  }
}

/** The i18n key of the headline shown above the message, by error code. */
export function errorTitleKey(error: CommandError): 'error.badRequest' | 'error.notFound' | 'error.unavailable' | 'error.failed' {
  switch (error.code) {
    case 'bad_request':
      return 'error.badRequest';
    case 'not_found':
      return 'error.notFound';
    case 'unavailable':
      return 'error.unavailable';
    default:
      return 'error.failed';
  }
}

/** Up to this length a message is shown whole; a longer one is cut to its first sentence. */
export const PLAIN_LENGTH = 100;
/** A cut never leaves a headline shorter than this ("Error:" is no headline). */
const MIN_HEADLINE = 12;

/** A message as a toast shows it: a plain headline, and the full text behind "Details" when cut. */
export interface SplitMessage {
  headline: string;
  /** The whole message, when the headline is not all of it. */
  full: string | null;
}

/**
 * Cuts a long message to its first sentence or clause ("downloading https://… failed: Dns
 * Failed: resolve dns name …" -> "downloading huggingface.co/…/ggml-base.bin failed"), with
 * web addresses shortened to host and file. Short messages are kept as they are.
 */
export function splitMessage(message: string): SplitMessage {
  const text = message.trim();
  if (text.length <= PLAIN_LENGTH) return { headline: text, full: null };
  // A sentence end followed by a space (so "ggml-base.bin" and "example.com" are not one),
  // a Chinese sentence end, or a colon before a space (so "C:\" and "https://" are not one).
  const cuts = /[.!?](?=\s)|[。！？]|:(?=\s)|：/g;
  let headline = text;
  for (const m of text.matchAll(cuts)) {
    const sentence = m[0] !== ':' && m[0] !== '：';
    const head = text.slice(0, m.index + (sentence ? m[0].length : 0)).trim();
    if (head.length >= MIN_HEADLINE && m.index + m[0].length < text.length) {
      headline = head;
      break;
    }
  }
  headline = shortenUrls(headline);
  return { headline, full: headline === text ? null : text };
}

/** "https://host/a/b/file.bin?x" -> "host/…/file.bin"; "https://host/" -> "host". */
export function shortenUrls(text: string): string {
  return text.replace(/\bhttps?:\/\/[^\s'"<>()]*[^\s'"<>().,;:!?]/g, (url) => {
    const [, host = url, path = ''] = /^https?:\/\/([^/?#]+)([^?#]*)/.exec(url) ?? [];
    const parts = path.split('/').filter(Boolean);
    if (parts.length === 0) return host;
    return parts.length === 1 ? `${host}/${parts[0]}` : `${host}/…/${parts[parts.length - 1]}`;
  });
}
