// Light and dark themes (CSS variables in app.css); 'system' follows prefers-color-scheme.
import type { AppSettings } from './types';

export type ThemeSetting = AppSettings['theme'];

export function resolveTheme(setting: ThemeSetting | null | undefined, prefersDark: boolean): 'light' | 'dark' {
  if (setting === 'light' || setting === 'dark') return setting;
  return prefersDark ? 'dark' : 'light';
}

let current: ThemeSetting = 'system';
let media: MediaQueryList | null = null;

function apply(): void {
  const dark = media?.matches ?? false;
  document.documentElement.dataset.theme = resolveTheme(current, dark);
}

/** Applies a theme now and keeps 'system' in step with the OS. */
export function setTheme(setting: ThemeSetting | null | undefined): void {
  current = setting ?? 'system';
  if (typeof window === 'undefined') return;
  if (!media && typeof window.matchMedia === 'function') {
    media = window.matchMedia('(prefers-color-scheme: dark)');
    media.addEventListener('change', apply);
  }
  apply();
}
