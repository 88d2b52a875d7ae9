import { describe, expect, it } from 'vitest';
import { isHttpUrl, normalizeSettings, sameSettings, validateSettings } from '../src/lib/settings-validation';
import { newWatch, withAfter, withOutput } from '../src/lib/watch-setting';
import { makeSettings } from './fixtures';

describe('validateSettings', () => {
  it('accepts the defaults', () => {
    expect(validateSettings(makeSettings())).toEqual({});
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
