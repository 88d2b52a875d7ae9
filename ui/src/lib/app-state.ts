// App-wide state: app_info, the saved settings, the current view; language and theme follow settings.
import { get, writable } from 'svelte/store';
import { call } from './api';
import { locale, resolveLocale, type Locale } from './i18n';
import { setTheme } from './theme';
import type { AppInfo, AppSettings, WorkerInfo } from './types';

export type View = 'queue' | 'library' | 'dashboard' | 'settings' | 'about';

export const view = writable<View>('queue');
export const appInfo = writable<AppInfo | null>(null);
export const settings = writable<AppSettings | null>(null);
export const workers = writable<WorkerInfo[]>([]);

function browserLanguage(): string | null {
  return typeof navigator === 'undefined' ? null : navigator.language;
}

/** Applies language and theme from the saved settings. */
export function applySettings(s: AppSettings | null): void {
  const info = get(appInfo);
  locale.set(resolveLocale(s?.ui_language ?? null, info?.locale ?? null, browserLanguage()));
  setTheme(s?.theme ?? 'system');
}

export async function loadAppInfo(): Promise<AppInfo> {
  const info = await call('app_info');
  appInfo.set(info);
  applySettings(get(settings));
  return info;
}

export async function loadSettings(): Promise<AppSettings> {
  const s = await call('get_settings');
  settings.set(s);
  applySettings(s);
  return s;
}

export async function saveSettings(next: AppSettings): Promise<AppSettings> {
  const saved = await call('save_settings', { settings: next });
  settings.set(saved);
  applySettings(saved);
  return saved;
}

/** The toolbar's language switch: applies at once, then saves just that field. */
export async function switchLanguage(next: Locale): Promise<void> {
  locale.set(next);
  const s = get(settings);
  if (s && s.ui_language !== next) await saveSettings({ ...s, ui_language: next });
}

export function allPaused(list: WorkerInfo[]): boolean {
  return list.length > 0 && list.every((w) => w.paused);
}

export async function pauseQueue(queue: string | null): Promise<void> {
  workers.set(await call('pause_queue', { queue }));
}

export async function resumeQueue(queue: string | null): Promise<void> {
  workers.set(await call('resume_queue', { queue }));
}
