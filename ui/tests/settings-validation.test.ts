import { describe, expect, it } from 'vitest';
import { translate } from '../src/lib/i18n';
import {
  CHINESE_SCRIPTS,
  SLIDE_SENSITIVITIES,
  isHttpUrl,
  isQueueUrl,
  normalizeSettings,
  sameSettings,
  validateSettings,
} from '../src/lib/settings-validation';
import type { SubtitleStyle } from '../src/lib/types';
import { newWatch, withAfter, withOutput } from '../src/lib/watch-setting';
import { makeSettings } from './fixtures';

describe('validateSettings', () => {
  it('accepts the defaults', () => {
    expect(validateSettings(makeSettings())).toEqual({});
  });

  it('takes a shared queue as redis:// or rediss:// with a host, or none', () => {
    for (const url of ['redis://db.lab:6379/0', 'rediss://:pw@db.lab:6380/2', 'redis://127.0.0.1', 'redis://[::1]:6379/0']) expect(isQueueUrl(url), url).toBe(true);
    for (const url of ['http://db.lab', 'db.lab:6379', 'redis://', 'redis://:pw@', 'redis:// db']) expect(isQueueUrl(url), url).toBe(false);
    expect(validateSettings(makeSettings({ queue_url: 'db.lab:6379' })).queue_url?.key).toBe('valid.queueUrl');
    expect(validateSettings(makeSettings({ queue_url: '  ' }))).toEqual({});
    expect(validateSettings(makeSettings({ queue_url: null }))).toEqual({});
    // Cleared, it is saved as none; a shell that leaves it out does not make the draft look changed.
    expect(normalizeSettings(makeSettings({ queue_url: ' ' })).queue_url).toBeNull();
    expect(normalizeSettings(makeSettings({ queue_url: ' redis://db/0 ' })).queue_url).toBe('redis://db/0');
    const older = makeSettings();
    delete older.queue_url;
    expect('queue_url' in normalizeSettings(older)).toBe(false);
  });

  it('needs at least one format', () => {
    expect(validateSettings(makeSettings({ formats: [] })).formats?.key).toBe('valid.formats');
  });

  it('checks whole numbers and ranges', () => {
    const p = validateSettings(
      makeSettings({ retention_days: 1.5, threads: -1, concurrency: { audio: 0, video: 2 }, http_api: { enabled: true, port: 80 } }),
    );
    expect(p.retention_days?.key).toBe('valid.integer');
    expect(p.threads).toEqual({ key: 'valid.range', params: { min: 0, max: 256 } });
    expect(p['concurrency.audio']?.key).toBe('valid.range');
    expect(p['concurrency.video']).toBeUndefined();
    expect(p['http_api.port']).toEqual({ key: 'valid.range', params: { min: 1024, max: 65535 } });
  });

  it('treats an emptied number field (null from the input) as invalid', () => {
    const p = validateSettings(makeSettings({ retention_days: null as unknown as number }));
    expect(p.retention_days?.key).toBe('valid.integer');
  });

  it('ignores the port while the HTTP API is off', () => {
    expect(validateSettings(makeSettings({ http_api: { enabled: false, port: 1 } }))['http_api.port']).toBeUndefined();
  });

  it('checks the summary endpoint', () => {
    const bad = validateSettings(makeSettings({ summary_endpoint: { base_url: 'ftp://x', model: ' ' } }));
    expect(bad['summary_endpoint.base_url']?.key).toBe('valid.url');
    expect(bad['summary_endpoint.model']?.key).toBe('valid.required');
    const empty = validateSettings(makeSettings({ summary_endpoint: { base_url: '', model: 'm' } }));
    expect(empty['summary_endpoint.base_url']?.key).toBe('valid.required');
    const good = validateSettings(makeSettings({ summary_endpoint: { base_url: 'http://127.0.0.1:11434/v1', model: 'qwen' } }));
    expect(good).toEqual({});
  });

  it('checks watched folders', () => {
    const a = newWatch('/rec', '/out');
    const moved = withAfter(newWatch('/rec', null), 'move', '');
    const noFolder = withOutput(newWatch('/other', null), 'folder', '');
    const p = validateSettings(makeSettings({ watch: [a, moved, noFolder] }));
    expect(p['watch.0.path']).toBeUndefined();
    expect(p['watch.1.path']?.key).toBe('valid.duplicate');
    expect(p['watch.1.move_to']?.key).toBe('valid.moveTo');
    expect(p['watch.2.output']?.key).toBe('valid.required');
  });

  it('recognises http URLs', () => {
    expect(isHttpUrl('https://api.openai.com/v1')).toBe(true);
    expect(isHttpUrl('localhost:8080')).toBe(false);
    expect(isHttpUrl('not a url')).toBe(false);
  });
});

describe('subtitle settings', () => {
  const subs = (over: Partial<SubtitleStyle>) =>
    validateSettings(makeSettings({ subtitles: { line_width: 42, max_lines: 2, min_ms: 1000, max_ms: 7000, ...over } }));

  it('take lines of 16 to 80 columns', () => {
    expect(subs({ line_width: 16 })).toEqual({});
    expect(subs({ line_width: 80 })).toEqual({});
    expect(subs({ line_width: 15 })['subtitles.line_width']).toEqual({ key: 'valid.subtitleWidth', params: { width: 15, min: 16, max: 80 } });
    expect(subs({ line_width: 81 })['subtitles.line_width']?.key).toBe('valid.subtitleWidth');
    expect(subs({ line_width: 40.5 })['subtitles.line_width']?.key).toBe('valid.integer');
    expect(subs({ line_width: null as unknown as number })['subtitles.line_width']?.key).toBe('valid.integer');
  });

  it('take 1 to 3 lines', () => {
    expect(subs({ max_lines: 1 })).toEqual({});
    expect(subs({ max_lines: 3 })).toEqual({});
    expect(subs({ max_lines: 0 })['subtitles.max_lines']).toEqual({ key: 'valid.subtitleLines', params: { min: 1, max: 3 } });
    expect(subs({ max_lines: 4 })['subtitles.max_lines']?.key).toBe('valid.subtitleLines');
    expect(subs({ max_lines: 1.5 })['subtitles.max_lines']?.key).toBe('valid.integer');
  });

  it('show a cue at least 0.5 s, at most 20 s, the longest 0.5 s above the shortest', () => {
    const times = { key: 'valid.subtitleTimes', params: { min: 0.5, max: 20 } };
    expect(subs({ min_ms: 500, max_ms: 1000 })).toEqual({});
    expect(subs({ min_ms: 19_500, max_ms: 20_000 })).toEqual({});
    expect(subs({ min_ms: 499 })).toEqual({ 'subtitles.min_ms': times });
    expect(subs({ max_ms: 20_001 })).toEqual({ 'subtitles.max_ms': times });
    expect(subs({ min_ms: 3000, max_ms: 3499 })).toEqual({ 'subtitles.max_ms': times });
    expect(subs({ min_ms: 3000, max_ms: 2000 })).toEqual({ 'subtitles.max_ms': times });
    expect(subs({ min_ms: NaN })).toEqual({ 'subtitles.min_ms': { key: 'valid.number' } });
    expect(subs({ max_ms: null as unknown as number })).toEqual({ 'subtitles.max_ms': { key: 'valid.number' } });
  });

  it('find a time problem exactly when the core does', () => {
    // crates/core/src/export/cues.rs: min_ms < 500 || max_ms < min_ms + 500 || max_ms > 20_000
    const core = (min: number, max: number) => min < 500 || max < min + 500 || max > 20_000;
    const values = [0, 250, 499, 500, 501, 999, 1000, 1500, 7000, 19_499, 19_500, 20_000, 20_001, 30_000];
    for (const min_ms of values) {
      for (const max_ms of values) {
        const p = subs({ min_ms, max_ms });
        const found = p['subtitles.min_ms'] !== undefined || p['subtitles.max_ms'] !== undefined;
        expect(found, `${min_ms}..${max_ms}`).toBe(core(min_ms, max_ms));
      }
    }
  });

  it('say what the core says', () => {
    const width = subs({ line_width: 90 })['subtitles.line_width']!;
    expect(translate('en', width.key, width.params)).toBe('Subtitle lines of 90 characters are not readable: use 16 to 80.');
    const lines = subs({ max_lines: 5 })['subtitles.max_lines']!;
    expect(translate('en', lines.key, lines.params)).toBe('Subtitles have 1 to 3 lines.');
    const times = subs({ max_ms: 60_000 })['subtitles.max_ms']!;
    expect(translate('en', times.key, times.params)).toBe('A subtitle shows at least 0.5 s, at most 20 s, the longest 0.5 s or more above the shortest.');
    expect(translate('zh-CN', times.key, times.params)).toBe('字幕至少显示 0.5 秒、最多 20 秒，且最长时间须比最短时间长 0.5 秒以上。');
  });

  it('are stored in whole milliseconds', () => {
    const n = normalizeSettings(makeSettings({ subtitles: { line_width: 42, max_lines: 2, min_ms: 1200.0000000002, max_ms: 6999.9999999 } }));
    expect(n.subtitles).toEqual({ line_width: 42, max_lines: 2, min_ms: 1200, max_ms: 7000 });
  });
});

describe('transcript and slide settings', () => {
  it('offer the core enums, the default first', () => {
    expect(CHINESE_SCRIPTS).toEqual(['simplified', 'traditional', 'as_heard']);
    expect(SLIDE_SENSITIVITIES).toEqual(['slides', 'mixed', 'screen']);
    expect(makeSettings().chinese_script).toBe(CHINESE_SCRIPTS[0]);
    expect(makeSettings().slide_sensitivity).toBe(SLIDE_SENSITIVITIES[0]);
  });

  it('are compared and kept as chosen', () => {
    expect(sameSettings(makeSettings(), makeSettings({ chinese_script: 'traditional' }))).toBe(false);
    expect(sameSettings(makeSettings(), makeSettings({ slide_sensitivity: 'screen' }))).toBe(false);
    const n = normalizeSettings(makeSettings({ chinese_script: 'as_heard', slide_sensitivity: 'mixed' }));
    expect(n.chinese_script).toBe('as_heard');
    expect(n.slide_sensitivity).toBe('mixed');
  });
});

describe('normalizeSettings', () => {
  it('trims, empties to null and orders formats', () => {
    const s = makeSettings({
      formats: ['pdf', 'md'],
      output_dir: '  ',
      language: '',
      summary_endpoint: { base_url: ' http://x/v1 ', model: ' m ', api_key: '  ' },
      watch: [withAfter(newWatch(' /rec ', null), 'move', ' /done ')],
    });
    const n = normalizeSettings(s);
    expect(n.formats).toEqual(['md', 'pdf']);
    expect(n.output_dir).toBeNull();
    expect(n.language).toBeNull();
    expect(n.summary_endpoint).toMatchObject({ base_url: 'http://x/v1', model: 'm', api_key: null });
    expect(n.watch[0].path).toBe('/rec');
    expect(n.watch[0].after_success).toEqual({ move_to: '/done' });
    expect(s.output_dir).toBe('  '); // the input is untouched
  });

  it('compares settings by value', () => {
    expect(sameSettings(makeSettings(), makeSettings())).toBe(true);
    expect(sameSettings(makeSettings(), makeSettings({ notify: false }))).toBe(false);
  });
});

describe('watch settings', () => {
  it('switches between the Rust enum shapes', () => {
    const w = newWatch('/rec', null);
    expect(w.output).toBe('beside_source');
    expect(withOutput(w, 'folder', '/out').output).toEqual({ folder: '/out' });
    expect(withAfter(w, 'delete').after_success).toBe('delete');
    expect(withAfter(withAfter(w, 'move', '/done'), 'keep').after_success).toBe('keep');
  });
});
