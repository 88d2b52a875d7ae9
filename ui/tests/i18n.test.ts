import { describe, expect, it } from 'vitest';
import { get } from 'svelte/store';
import { en } from '../src/lib/i18n/en';
import { zhCN } from '../src/lib/i18n/zh-CN';
import { interpolate, locale, normalizeLocale, queueLabel, resolveLocale, t, tNow, translate } from '../src/lib/i18n';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('dictionaries', () => {
  it('have the same keys', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
  });

  it('have the same placeholders for every key', () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(placeholders(zhCN[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it('have no empty strings', () => {
    for (const [key, value] of [...Object.entries(en), ...Object.entries(zhCN)]) expect(value.trim(), key).not.toBe('');
  });

  it('translate the Chinese UI into Chinese', () => {
    const untranslated = (Object.keys(en) as (keyof typeof en)[]).filter((k) => /[a-z]{4,}/i.test(en[k]) && zhCN[k] === en[k]);
    // Only names stay the same (the app, ffmpeg, ffprobe).
    expect(untranslated.sort()).toEqual(['app.title', 'dash.ffmpeg', 'dash.ffprobe']);
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
