import { describe, expect, it } from 'vitest';
import { get } from 'svelte/store';
import { en } from '../src/lib/i18n/en';
import { zhCN } from '../src/lib/i18n/zh-CN';
import {
  interpolate,
  locale,
  messageForms,
  normalizeLocale,
  pluralForm,
  queueLabel,
  resolveLocale,
  t,
  tNow,
  translate,
  type Message,
} from '../src/lib/i18n';

const placeholders = (s: string) => [...new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();
/** The placeholders of a message; every wording of a plural message must have the same ones. */
function messagePlaceholders(m: Message): string[] {
  const [first, ...rest] = messageForms(m).map(placeholders);
  for (const other of rest) expect(other).toEqual(first);
  return first;
}
const keys = Object.keys(en) as (keyof typeof en)[];

describe('dictionaries', () => {
  it('have the same keys', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
  });

  it('have the same placeholders for every key', () => {
    for (const key of keys) {
      expect(messagePlaceholders(zhCN[key]), key).toEqual(messagePlaceholders(en[key]));
    }
  });

  it('have no empty strings, and plural messages count {n} with an "other" form', () => {
    for (const [key, value] of [...Object.entries(en), ...Object.entries(zhCN)] as [string, Message][]) {
      for (const form of messageForms(value)) expect(form.trim(), key).not.toBe('');
      if (typeof value !== 'string') {
        expect(value.other, key).toBeTruthy();
        expect(messagePlaceholders(value), key).toContain('n');
      }
    }
  });

  it('say "(s)" nowhere: counts use plural forms', () => {
    for (const key of keys) for (const form of messageForms(en[key])) expect(form, key).not.toMatch(/\(s\)/);
  });

  it('translate the Chinese UI into Chinese', () => {
    const same = (k: (typeof keys)[number]) => JSON.stringify(zhCN[k]) === JSON.stringify(en[k]);
    const untranslated = keys.filter((k) => messageForms(en[k]).some((f) => /[a-z]{4,}/i.test(f)) && same(k));
    // Only names stay the same (the app, ffmpeg, ffprobe).
    expect(untranslated.sort()).toEqual(['app.title', 'dash.ffmpeg', 'dash.ffprobe']);
  });
});

describe('plurals', () => {
  it('pick the form by {n} in English, and the one form in Chinese', () => {
    expect(translate('en', 'import.accepted', { n: 1 })).toBe('Added 1 file to the queue.');
    expect(translate('en', 'import.accepted', { n: 3 })).toBe('Added 3 files to the queue.');
    expect(translate('en', 'import.rejectedTitle', { n: 1 })).toBe('1 file was not added');
    expect(translate('en', 'import.rejectedTitle', { n: 0 })).toBe('0 files were not added');
    expect(translate('en', 'import.fromElsewhere', { n: 1 })).toBe('Added 1 file from a watched folder or another launch.');
    expect(translate('en', 'toolbar.clearedN', { n: 2 })).toBe('Removed 2 finished items.');
    expect(translate('zh-CN', 'import.fromElsewhere', { n: 1 })).toBe('已从监视文件夹或其他启动添加 1 个文件。');
    expect(translate('zh-CN', 'import.accepted', { n: 5 })).toBe('已将 5 个文件加入队列。');
  });

  it('fall back to "other" without a number', () => {
    expect(pluralForm('en', { one: 'a file', other: 'files' })).toBe('files');
    expect(pluralForm('en', { one: 'a file', other: 'files' }, { n: 'x' })).toBe('files');
    expect(pluralForm('en', 'plain', { n: 1 })).toBe('plain');
  });
});

describe('every visible string goes through the dictionaries', () => {
  // Literal English between tags or in a label attribute of a component; names that stay
  // the same in every language (the language menu's own names) are allowed.
  const ALLOWED = new Set(['English']);
  const glob = (pattern: Record<string, string>) => Object.entries(pattern);
  const components = glob(import.meta.glob<string>(['../src/components/*.svelte', '../src/App.svelte'], { query: '?raw', import: 'default', eager: true }));
  const modules = glob(import.meta.glob<string>('../src/lib/*.ts', { query: '?raw', import: 'default', eager: true }));

  it('has no literal English in markup', () => {
    const found: string[] = [];
    expect(components.length).toBeGreaterThan(20);
    for (const [file, source] of components) {
      let markup = source
        .replace(/<script[\s\S]*?<\/script>/g, '')
        .replace(/<style[\s\S]*?<\/style>/g, '');
      // Expressions and blocks ({...}, nested) are code, not text.
      while (/\{[^{}]*\}/.test(markup)) markup = markup.replace(/\{[^{}]*\}/g, '');
      for (const m of markup.matchAll(/>([^<>]*)</g)) {
        const text = m[1].trim();
        if (/[A-Za-z]{2,}/.test(text) && !ALLOWED.has(text)) found.push(`${file}: ${text}`);
      }
      for (const m of markup.matchAll(/\b(?:title|placeholder|aria-label|alt)="([^"{]*[A-Za-z]{3,}[^"]*)"/g)) {
        if (!/^https?:/.test(m[1])) found.push(`${file}: ${m[1]}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('has no literal English in toasts built by the modules', () => {
    expect(modules.length).toBeGreaterThan(10);
    for (const [f, source] of modules) {
      expect(source, f).not.toMatch(/(title|message):\s*['"`][A-Z][a-z]+ /);
    }
  });
});

describe('locale choice', () => {
  it('normalises tags', () => {
    expect(normalizeLocale('zh')).toBe('zh-CN');
    expect(normalizeLocale('zh_TW')).toBe('zh-CN');
    expect(normalizeLocale('en-GB')).toBe('en');
    expect(normalizeLocale('de-DE')).toBeNull();
    expect(normalizeLocale('')).toBeNull();
  });

  it('prefers the setting, then the OS, then the browser', () => {
    expect(resolveLocale('en', 'zh-CN', 'zh-CN')).toBe('en');
    expect(resolveLocale(null, 'zh-Hans-CN', 'en-US')).toBe('zh-CN');
    expect(resolveLocale(null, 'fr-FR', 'zh-TW')).toBe('zh-CN');
    expect(resolveLocale(null, 'fr-FR', 'de')).toBe('en');
  });

  it('switches at run time', () => {
    locale.set('en');
    expect(get(t)('nav.settings')).toBe('Settings');
    locale.set('zh-CN');
    expect(get(t)('nav.settings')).toBe('设置');
    expect(tNow('import.accepted', { n: 3 })).toBe('已将 3 个文件加入队列。');
    expect(queueLabel(get(t), 'image')).toBe('幻灯片');
    expect(queueLabel(get(t), 'custom')).toBe('custom');
    locale.set('en');
  });

  it('interpolates parameters and leaves unknown ones alone', () => {
    expect(interpolate('{a} and {b}', { a: 1 })).toBe('1 and {b}');
    expect(translate('en', 'list.count', { shown: 5, total: 10 })).toBe('5 of 10');
  });
});
