// Durations, ETAs, sizes, times and percentages in the user's language.
import { translate, type Locale } from './i18n';

/** A duration in words: "45s", "3m 20s", "1h 5m", "2d 3h" (zh: "45秒", "3分20秒", ...). */
export function formatDuration(ms: number, locale: Locale): string {
  const total = Math.max(0, Math.round(ms / 1000));
  if (total < 60) return translate(locale, 'dur.s', { s: total });
  const m = Math.floor(total / 60);
  if (m < 60) return translate(locale, 'dur.ms', { m, s: total % 60 });
  const h = Math.floor(m / 60);
  if (h < 24) return translate(locale, 'dur.hm', { h, m: m % 60 });
  return translate(locale, 'dur.dh', { d: Math.floor(h / 24), h: h % 24 });
}

/** Time left: "—" when unknown, "< 1s left", "3m 20s left". */
export function formatEta(ms: number | null | undefined, locale: Locale): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return translate(locale, 'eta.none');
  if (ms < 1000) return translate(locale, 'eta.lessThanSecond');
  return translate(locale, 'eta.left', { d: formatDuration(ms, locale) });
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/** A size with binary multiples: "512 B", "1.5 KB", "142 MB", "2.9 GB". */
export function formatBytes(bytes: number | null | undefined, locale: Locale): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(value);
  return `${number} ${UNITS[unit]}`;
}

/** 0.423 -> "42%". */
export function formatPercent(fraction: number | null | undefined, locale: Locale): string {
  const f = typeof fraction === 'number' && Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 }).format(f);
}

/** A position in a recording: "0:05", "12:34", "1:02:03". */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A moment (ms since the epoch): time only when today, date and time otherwise. */
export function formatTime(at: number | null | undefined, locale: Locale, now: number = Date.now()): string {
  if (at === null || at === undefined || !Number.isFinite(at)) return '—';
  const date = new Date(at);
  const today = new Date(now);
  const sameDay =
    date.getFullYear() === today.getFullYear() && date.getMonth() === today.getMonth() && date.getDate() === today.getDate();
  const options: Intl.DateTimeFormatOptions = sameDay
    ? { hour: '2-digit', minute: '2-digit', second: '2-digit' }
    : { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(locale, options).format(date);
}
