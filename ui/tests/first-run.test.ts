import { describe, expect, it, vi } from 'vitest';
import { get } from 'svelte/store';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }));

import { createGuide, languageFor, reduce, settingsWithModel, type GuideDeps, type GuideState } from '../src/lib/first-run';
import type { CommandError, Languages, ModelRow } from '../src/lib/types';
import { makeSettings } from './fixtures';

function modelRow(name: string, over: Partial<ModelRow> = {}): ModelRow {
  return { name, kind: 'whisper', size_bytes: 150_000_000, multilingual: !name.includes('.en'), present: false, path: `/m/ggml-${name}.bin`, downloading: null, ...over };
}

const RECOMMENDED: Record<Languages, string> = { english_only: 'base.en', chinese: 'small-q5_1', several: 'small-q5_1' };

/** A promise resolved or rejected from outside, like a download the test finishes. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function harness(over: Partial<GuideDeps> = {}) {
  const errors: CommandError[] = [];
  const chosen: [string, Languages | null][] = [];
  const installed: string[] = [];
  let present = false;
  const download = deferred<ModelRow>();
  const deps: GuideDeps = {
    recommend: vi.fn(async (languages: Languages) => modelRow(RECOMMENDED[languages])),
    download: vi.fn(() => download.promise),
    cancel: vi.fn(async () => download.reject({ code: 'failed', message: 'the download of base.en was cancelled', detail: null })),
    pick: vi.fn(async () => '/home/me/ggml-mine.bin'),
    importModel: vi.fn(async () => modelRow('mine', { present: true })),
    choose: vi.fn(async (model: ModelRow, languages: Languages | null) => {
      chosen.push([model.name, languages]);
    }),
    modelPresent: vi.fn(async () => present),
    onError: (e) => errors.push(e),
    onInstalled: (m, how) => installed.push(`${how} ${m.name}`),
    ...over,
  };
  const guide = createGuide(deps);
  return {
    guide,
    deps,
    errors,
    chosen,
    installed,
    download,
    step: () => get(guide.state).step,
    install: () => {
      present = true;
    },
  };
}

describe('the first-run reducer', () => {
  const ready: GuideState = { step: 'ready', languages: 'english_only', model: modelRow('base.en') };

  it('goes choose -> recommending -> ready -> downloading -> installed', () => {
    let s: GuideState = { step: 'choose' };
    s = reduce(s, { type: 'pick', languages: 'english_only' });
    expect(s).toEqual({ step: 'recommending', languages: 'english_only' });
    s = reduce(s, { type: 'recommended', languages: 'english_only', model: modelRow('base.en') });
    expect(s).toEqual(ready);
    s = reduce(s, { type: 'download' });
    expect(s).toMatchObject({ step: 'downloading', cancelling: false });
    s = reduce(s, { type: 'downloadEnded', model: modelRow('base.en', { present: true }) });
    expect(s).toEqual({ step: 'installed', model: 'base.en' });
  });

  it('drops a late recommendation for an earlier pick', () => {
    let s = reduce({ step: 'choose' }, { type: 'pick', languages: 'english_only' });
    s = reduce(s, { type: 'pick', languages: 'chinese' });
    expect(reduce(s, { type: 'recommended', languages: 'english_only', model: modelRow('base.en') })).toBe(s);
    expect(reduce(s, { type: 'recommendFailed', languages: 'english_only' })).toBe(s);
    expect(reduce(s, { type: 'recommendFailed', languages: 'chinese' })).toEqual({ step: 'choose' });
  });

  it('returns to the offer when a download is cancelled or fails, and keeps the languages', () => {
    let s = reduce(ready, { type: 'download' });
    s = reduce(s, { type: 'cancel' });
    expect(s).toMatchObject({ step: 'downloading', cancelling: true });
    expect(reduce(s, { type: 'downloadEnded', model: null })).toEqual(ready);
  });

  it('ignores choices while something runs', () => {
    const downloading = reduce(ready, { type: 'download' });
    expect(reduce(downloading, { type: 'pick', languages: 'several' })).toBe(downloading);
    expect(reduce(downloading, { type: 'import', kind: 'file' })).toBe(downloading);
    expect(reduce(downloading, { type: 'download' })).toBe(downloading);
    expect(reduce(ready, { type: 'cancel' })).toBe(ready);
    expect(reduce(ready, { type: 'downloadEnded', model: null })).toBe(ready);
  });

  it('goes back to where it was when an import fails', () => {
    const importing = reduce(ready, { type: 'import', kind: 'folder' });
    expect(importing).toEqual({ step: 'importing', kind: 'folder', back: ready });
    expect(reduce(importing, { type: 'importEnded', model: null })).toEqual(ready);
    expect(reduce(importing, { type: 'importEnded', model: modelRow('mine') })).toEqual({ step: 'installed', model: 'mine' });
  });
});

describe('the model chosen in the settings', () => {
  it('sets English for English only and detection otherwise', () => {
    expect(languageFor('english_only')).toBe('en');
    expect(languageFor('chinese')).toBeNull();
    expect(languageFor('several')).toBeNull();
    const s = makeSettings({ model: 'base', language: 'de', formats: ['md'] });
    expect(settingsWithModel(s, modelRow('base.en'), 'english_only')).toEqual({ ...s, model: 'base.en', language: 'en' });
    expect(settingsWithModel(s, modelRow('small-q5_1'), 'chinese')).toEqual({ ...s, model: 'small-q5_1', language: null });
  });

  it('without a pick, follows the imported model: English for an English-only one, else as before', () => {
    const s = makeSettings({ language: 'de' });
    expect(settingsWithModel(s, modelRow('tiny.en'), null).language).toBe('en');
    expect(settingsWithModel(s, modelRow('large-v3'), null).language).toBe('de');
  });
});

describe('the first-run guide', () => {
  it('shows while the model is missing and goes once it is there', async () => {
    const h = harness();
    expect(get(h.guide.needed)).toBe(false); // unknown: not shown
    h.guide.setModelPresent(false);
    expect(get(h.guide.needed)).toBe(true);
    await h.guide.refresh();
    expect(get(h.guide.needed)).toBe(true);
    h.install();
    await h.guide.refresh();
    expect(get(h.guide.needed)).toBe(false);
  });

  it('recommends by language, names the model in the settings, then downloads it', async () => {
    const h = harness();
    h.guide.setModelPresent(false);
    await h.guide.pick('english_only');
    expect(get(h.guide.state)).toMatchObject({ step: 'ready', model: { name: 'base.en' } });
    const done = h.guide.download();
    await vi.waitFor(() => expect(h.deps.download).toHaveBeenCalledWith('base.en'));
    expect(h.step()).toBe('downloading');
    // Named before the download ends: the waiting videos follow this model.
    expect(h.chosen).toEqual([['base.en', 'english_only']]);
    h.install();
    h.download.resolve(modelRow('base.en', { present: true }));
    await done;
    expect(h.installed).toEqual(['downloaded base.en']);
    expect(get(h.guide.needed)).toBe(false);
    expect(h.step()).toBe('choose');
    expect(h.errors).toEqual([]);
  });

  it('a cancelled download is not an error; a failed one is told once', async () => {
    const h = harness();
    await h.guide.pick('several');
    const first = h.guide.download();
    await vi.waitFor(() => expect(h.step()).toBe('downloading'));
    await h.guide.cancel();
    await first;
    expect(h.deps.cancel).toHaveBeenCalledWith('small-q5_1');
    expect(get(h.guide.state)).toMatchObject({ step: 'ready', languages: 'several' });
    expect(h.errors).toEqual([]);

    const failing = harness({
      download: vi.fn(async () => {
        throw { code: 'failed', message: 'downloading base.en failed: connection refused', detail: null };
      }),
    });
    await failing.guide.pick('english_only');
    await failing.guide.download();
    expect(failing.errors.map((e) => e.message)).toEqual(['downloading base.en failed: connection refused']);
    expect(failing.step()).toBe('ready');
    expect(failing.installed).toEqual([]);
  });

  it('uses a recommended model that is already installed without downloading it', async () => {
    const h = harness({ recommend: vi.fn(async () => modelRow('base.en', { present: true })) });
    await h.guide.pick('english_only');
    h.install();
    await h.guide.download();
    expect(h.deps.download).not.toHaveBeenCalled();
    expect(h.chosen).toEqual([['base.en', 'english_only']]);
    expect(get(h.guide.needed)).toBe(false);
  });

  it('imports a file or a folder and names it; a dismissed picker does nothing', async () => {
    const h = harness();
    await h.guide.pick('chinese');
    h.install();
    await h.guide.importFrom('folder');
    expect(h.deps.pick).toHaveBeenCalledWith('folder');
    expect(h.deps.importModel).toHaveBeenCalledWith('/home/me/ggml-mine.bin');
    expect(h.chosen).toEqual([['mine', 'chinese']]);
    expect(h.installed).toEqual(['imported mine']);

    const dismissed = harness({ pick: vi.fn(async () => null) });
    await dismissed.guide.importFrom('file');
    expect(dismissed.deps.importModel).not.toHaveBeenCalled();
    expect(dismissed.step()).toBe('choose');
  });

  it('a text model folder is installed but never named as the speech model', async () => {
    const text = modelRow('ppocr-v4-mobile', { kind: 'text', present: true, path: '/m/ppocr-v4-mobile' });
    const h = harness({ importModel: vi.fn(async () => text) });
    await h.guide.pick('chinese');
    const before = get(h.guide.state);
    await h.guide.importFrom('folder');
    expect(h.chosen).toEqual([]);
    expect(h.installed).toEqual(['imported ppocr-v4-mobile']);
    expect(h.errors).toEqual([]);
    // Back to the offer: the speech model is still to get.
    expect(get(h.guide.state)).toEqual(before);
    expect(h.deps.modelPresent).not.toHaveBeenCalled();
  });

  it('a failed import is told and the guide goes back to the choice', async () => {
    const h = harness({
      importModel: vi.fn(async () => {
        throw { code: 'bad_request', message: '/home/me/ggml-mine.bin is not a ggml Whisper model', detail: null };
      }),
    });
    await h.guide.pick('english_only');
    await h.guide.importFrom('file');
    expect(h.errors.map((e) => e.code)).toEqual(['bad_request']);
    expect(get(h.guide.state)).toMatchObject({ step: 'ready', languages: 'english_only' });
    expect(h.chosen).toEqual([]);
  });

  it('a failed recommendation is told and the choice stays open', async () => {
    const h = harness({
      recommend: vi.fn(async () => {
        throw 'invalid args';
      }),
    });
    await h.guide.pick('english_only');
    expect(h.step()).toBe('choose');
    expect(h.errors).toHaveLength(1);
  });
});
