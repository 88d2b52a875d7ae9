// Checks a settings draft before save_settings; messages are i18n keys with parameters.
import type { AppSettings, Format } from './types';
import { afterKind, moveTo, outputFolder, outputKind } from './watch-setting';
import type { MessageKey, Params } from './i18n';

export interface Problem {
  key: MessageKey;
  params?: Params;
}

/** Field ids: 'formats', 'retention_days', 'threads', 'concurrency.audio', 'http_api.port',
 * 'summary_endpoint.base_url', 'summary_endpoint.model', 'watch.0.move_to', 'watch.0.output', 'watch.1.path'. */
export type Problems = Record<string, Problem>;

export const ALL_FORMATS: Format[] = ['md', 'html', 'docx', 'pdf', 'srt', 'vtt', 'txt', 'json'];

export const LIMITS = {
  retentionDays: { min: 0, max: 3650 },
  threads: { min: 0, max: 256 },
  concurrency: { min: 1, max: 32 },
  port: { min: 1024, max: 65535 },
} as const;

function checkInteger(value: unknown, min: number, max: number): Problem | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || !Number.isInteger(value)) return { key: 'valid.integer' };
  if (value < min || value > max) return { key: 'valid.range', params: { min, max } };
  return null;
}

export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text.trim());
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}

export function validateSettings(s: AppSettings): Problems {
  const problems: Problems = {};
  const put = (field: string, problem: Problem | null) => {
    if (problem) problems[field] = problem;
  };

  if (!s.formats || s.formats.length === 0) put('formats', { key: 'valid.formats' });
  put('retention_days', checkInteger(s.retention_days, LIMITS.retentionDays.min, LIMITS.retentionDays.max));
  put('threads', checkInteger(s.threads, LIMITS.threads.min, LIMITS.threads.max));
  for (const [queue, n] of Object.entries(s.concurrency ?? {})) {
    put(`concurrency.${queue}`, checkInteger(n, LIMITS.concurrency.min, LIMITS.concurrency.max));
  }
  if (s.http_api?.enabled) put('http_api.port', checkInteger(s.http_api.port, LIMITS.port.min, LIMITS.port.max));

  if (s.summary_endpoint) {
    if (!s.summary_endpoint.base_url.trim()) put('summary_endpoint.base_url', { key: 'valid.required' });
    else if (!isHttpUrl(s.summary_endpoint.base_url)) put('summary_endpoint.base_url', { key: 'valid.url' });
    if (!s.summary_endpoint.model.trim()) put('summary_endpoint.model', { key: 'valid.required' });
  }

  const seen = new Set<string>();
  (s.watch ?? []).forEach((w, i) => {
    const path = w.path.trim();
    if (!path) put(`watch.${i}.path`, { key: 'valid.required' });
    else if (seen.has(path)) put(`watch.${i}.path`, { key: 'valid.duplicate' });
    seen.add(path);
    if (afterKind(w) === 'move' && !moveTo(w).trim()) put(`watch.${i}.move_to`, { key: 'valid.moveTo' });
    if (outputKind(w) === 'folder' && !outputFolder(w).trim()) put(`watch.${i}.output`, { key: 'valid.required' });
  });
  return problems;
}

/** Normalises a draft for saving: trims text, empties to null, formats in a fixed order. */
export function normalizeSettings(s: AppSettings): AppSettings {
  const copy: AppSettings = structuredClone(s);
  copy.output_dir = copy.output_dir?.trim() ? copy.output_dir.trim() : null;
  copy.language = copy.language?.trim() ? copy.language.trim() : null;
  copy.formats = ALL_FORMATS.filter((f) => copy.formats.includes(f));
  if (copy.summary_endpoint) {
    copy.summary_endpoint.base_url = copy.summary_endpoint.base_url.trim();
    copy.summary_endpoint.model = copy.summary_endpoint.model.trim();
    const key = copy.summary_endpoint.api_key?.trim();
    copy.summary_endpoint.api_key = key ? key : null;
  }
  copy.watch = copy.watch.map((w) => ({
    ...w,
    path: w.path.trim(),
    after_success: typeof w.after_success === 'object' ? { move_to: w.after_success.move_to.trim() } : w.after_success,
    output: typeof w.output === 'object' ? { folder: w.output.folder.trim() } : w.output,
  }));
  return copy;
}

export function sameSettings(a: AppSettings | null, b: AppSettings | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
