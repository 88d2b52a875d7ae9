// A small typed dictionary: t('key', {param}) with the current locale, switchable at run time.
import { derived, get, writable } from 'svelte/store';
import { en, type MessageKey } from './en';
import { zhCN } from './zh-CN';
import { pluralForm, type Locale, type Message, type Params } from './plural';

export type { Locale, Message, MessageKey, Params };
export { messageForms, pluralForm, type Plural } from './plural';

export const dictionaries: Record<Locale, Record<MessageKey, Message>> = { en, 'zh-CN': zhCN };

/** Maps any locale tag to one we have: zh* -> zh-CN, everything else -> en. */
export function normalizeLocale(tag: string | null | undefined): Locale | null {
  if (!tag) return null;
  const lower = tag.toLowerCase().replace('_', '-');
  if (lower.startsWith('zh')) return 'zh-CN';
  if (lower.startsWith('en')) return 'en';
  return null;
}

/** settings.ui_language first, then the OS locale, then the browser's, else English. */
export function resolveLocale(setting: Locale | null | undefined, osLocale?: string | null, browser?: string | null): Locale {
  if (setting === 'en' || setting === 'zh-CN') return setting;
  return normalizeLocale(osLocale) ?? normalizeLocale(browser) ?? 'en';
}

export function interpolate(template: string, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (match, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : match,
  );
}

export function translate(locale: Locale, key: MessageKey, params?: Params): string {
  const message: Message = dictionaries[locale][key] ?? en[key] ?? key;
  return interpolate(pluralForm(locale, message, params), params);
}

export const locale = writable<Locale>(resolveLocale(null, null, typeof navigator === 'undefined' ? null : navigator.language));

locale.subscribe((l) => {
  if (typeof document !== 'undefined') document.documentElement.lang = l;
});

export type Translate = (key: MessageKey, params?: Params) => string;

/** In components: {$t('nav.queue')}. Re-renders when the locale changes. */
export const t = derived(locale, (l): Translate => (key, params) => translate(l, key, params));

/** Outside components (toasts built in .ts modules). */
export function tNow(key: MessageKey, params?: Params): string {
  return translate(get(locale), key, params);
}

const QUEUE_NAMES = ['video', 'audio', 'image', 'summary', 'export'] as const;

/** A queue's (or stage kind's) display name; unknown names are shown as they are. */
export function queueLabel(tr: Translate, queue: string): string {
  return (QUEUE_NAMES as readonly string[]).includes(queue) ? tr(`queue.${queue as (typeof QUEUE_NAMES)[number]}`) : queue;
}
