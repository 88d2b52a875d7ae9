// Checks a settings draft before save_settings; messages are i18n keys with parameters.
import type { AppSettings, ChineseScript, Format, SlideSensitivity, SubtitleStyle } from './types';
import { afterKind, moveTo, outputFolder, outputKind } from './watch-setting';
import type { MessageKey, Params } from './i18n';
import { CONTEXT_LIMITS, normalizeSummary } from './summary';

export interface Problem {
  key: MessageKey;
  params?: Params;
}

/** Field ids: 'formats', 'retention_days', 'threads', 'concurrency.audio', 'http_api.port',
 * 'summary_endpoint.base_url', 'summary_endpoint.model', 'summary_endpoint.context', 'summary.context', 'subtitles.line_width', 'subtitles.max_lines',
 * 'subtitles.min_ms', 'subtitles.max_ms', 'watch.0.move_to', 'watch.0.output', 'watch.1.path', 'queue_url'. */
export type Problems = Record<string, Problem>;

export const ALL_FORMATS: Format[] = ['md', 'html', 'docx', 'pdf', 'srt', 'vtt', 'txt', 'json'];

export const LIMITS = {
  retentionDays: { min: 0, max: 3650 },
  threads: { min: 0, max: 256 },
  concurrency: { min: 1, max: 32 },
  port: { min: 1024, max: 65535 },
  // The core's SubtitleStyle::problems (crates/core/src/export/cues.rs).
  subtitleWidth: { min: 16, max: 80 },
  subtitleLines: { min: 1, max: 3 },
  subtitleMs: { min: 500, max: 20_000, gap: 500 }, // shortest >= min, longest <= max and >= shortest + gap
} as const;

export const CHINESE_SCRIPTS: ChineseScript[] = ['simplified', 'traditional', 'as_heard'];
export const SLIDE_SENSITIVITIES: SlideSensitivity[] = ['slides', 'mixed', 'screen'];

function checkInteger(value: unknown, min: number, max: number): Problem | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || !Number.isInteger(value)) return { key: 'valid.integer' };
  if (value < min || value > max) return { key: 'valid.range', params: { min, max } };
  return null;
}

/** The subtitle problems, one per field, with the core's wording. */
function subtitleProblems(sub: SubtitleStyle): Problems {
  const problems: Problems = {};
  const { subtitleWidth: width, subtitleLines: lines, subtitleMs: ms } = LIMITS;
  const whole = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n);
  if (!whole(sub.line_width)) problems['subtitles.line_width'] = { key: 'valid.integer' };
  else if (sub.line_width < width.min || sub.line_width > width.max)
    problems['subtitles.line_width'] = { key: 'valid.subtitleWidth', params: { width: sub.line_width, min: width.min, max: width.max } };
  if (!whole(sub.max_lines)) problems['subtitles.max_lines'] = { key: 'valid.integer' };
  else if (sub.max_lines < lines.min || sub.max_lines > lines.max)
    problems['subtitles.max_lines'] = { key: 'valid.subtitleLines', params: { min: lines.min, max: lines.max } };
  // One rule for both times, as in the core; the message goes under the time that breaks it.
  const times: Problem = { key: 'valid.subtitleTimes', params: { min: ms.min / 1000, max: ms.max / 1000 } };
  const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);
  if (!finite(sub.min_ms)) problems['subtitles.min_ms'] = { key: 'valid.number' };
  else if (sub.min_ms < ms.min) problems['subtitles.min_ms'] = times;
  if (!finite(sub.max_ms)) problems['subtitles.max_ms'] = { key: 'valid.number' };
  else if (sub.max_ms > ms.max || (finite(sub.min_ms) && sub.max_ms < sub.min_ms + ms.gap)) problems['subtitles.max_ms'] = times;
  return problems;
}

export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text.trim());
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}

/** A shared queue's address: redis:// or rediss://, an optional password, a host, an optional port and database. */
export function isQueueUrl(text: string): boolean {
  return /^rediss?:\/\/(?:[^\s/@]*@)?(?:\[[0-9a-fA-F:.]+\]|[^\s/@:[\]]+)(?::\d+)?(?:\/\S*)?$/.test(text.trim());
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
    if (s.summary_endpoint.context !== undefined) put('summary_endpoint.context', checkInteger(s.summary_endpoint.context, CONTEXT_LIMITS.min, CONTEXT_LIMITS.max));
  }
  if (s.summary) put('summary.context', checkInteger(s.summary.context, CONTEXT_LIMITS.min, CONTEXT_LIMITS.max));

  if (s.subtitles) Object.assign(problems, subtitleProblems(s.subtitles));
  if (s.queue_url?.trim() && !isQueueUrl(s.queue_url)) put('queue_url', { key: 'valid.queueUrl' });

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
  // Left out by a shell older than the setting: left out here too (else the draft looks changed).
  if (copy.queue_url !== undefined) copy.queue_url = copy.queue_url?.trim() ? copy.queue_url.trim() : null;
  copy.formats = ALL_FORMATS.filter((f) => copy.formats.includes(f));
  if (copy.summary_endpoint) {
    copy.summary_endpoint.base_url = copy.summary_endpoint.base_url.trim();
    copy.summary_endpoint.model = copy.summary_endpoint.model.trim();
    const key = copy.summary_endpoint.api_key?.trim();
    copy.summary_endpoint.api_key = key ? key : null;
  }
  if (copy.summary) copy.summary = normalizeSummary(copy.summary);
  if (copy.subtitles) {
    // Stored in whole milliseconds (the window edits seconds).
    copy.subtitles.min_ms = Math.round(copy.subtitles.min_ms);
    copy.subtitles.max_ms = Math.round(copy.subtitles.max_ms);
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
