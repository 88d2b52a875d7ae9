import { beforeEach, describe, expect, it, vi } from 'vitest';
import { get } from 'svelte/store';

const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...args: unknown[]) => invoke(...args) }));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }));

import { groupModels, importModelFile, importTextModelFolder, isSpeechModel, models } from '../src/lib/models';
import type { ModelRow } from '../src/lib/types';

function row(name: string, over: Partial<ModelRow> = {}): ModelRow {
  return { name, kind: 'whisper', size_bytes: 1, multilingual: true, present: false, path: `/m/${name}`, downloading: null, ...over };
}

const TEXT = row('ppocr-v4-mobile', { kind: 'text', size_bytes: 15_600_000 });

beforeEach(() => {
  invoke.mockReset();
  models.set([]);
});

describe('model rows', () => {
  it('group speech models and the text model, each in the catalogue order', () => {
    const groups = groupModels([row('tiny'), TEXT, row('base'), row('base.en', { multilingual: false })]);
    expect(groups.speech.map((m) => m.name)).toEqual(['tiny', 'base', 'base.en']);
    expect(groups.text.map((m) => m.name)).toEqual(['ppocr-v4-mobile']);
    expect(groupModels([row('tiny')]).text).toEqual([]);
    const speaker = { ...TEXT, name: 'pyannote-dvector', kind: 'speaker' as const };
    const withSpeakers = groupModels([row('tiny'), TEXT, speaker]);
    expect(withSpeakers.speaker.map((m) => m.name)).toEqual(['pyannote-dvector']);
    expect(withSpeakers.speech.map((m) => m.name)).toEqual(['tiny']);
    expect(isSpeechModel(speaker)).toBe(false);
  });

  it('group the summary models apart, never offered for transcription', () => {
    const qwen = row('qwen2.5-1.5b-instruct', { kind: 'summary', size_bytes: 1_117_320_736 });
    const imported = row('notes.Q4_K_M.gguf', { kind: 'summary', present: true });
    const groups = groupModels([row('tiny'), qwen, TEXT, imported]);
    expect(groups.summary.map((m) => m.name)).toEqual(['qwen2.5-1.5b-instruct', 'notes.Q4_K_M.gguf']);
    expect(groups.speech.map((m) => m.name)).toEqual(['tiny']);
    expect(groups.text.map((m) => m.name)).toEqual(['ppocr-v4-mobile']);
    expect(isSpeechModel(qwen)).toBe(false);
    expect(groupModels([row('tiny')]).summary).toEqual([]);
  });

  it('offer only speech models for transcription (a row from an older shell, without a kind, is one)', () => {
    expect(isSpeechModel(row('base'))).toBe(true);
    expect(isSpeechModel(TEXT)).toBe(false);
    const { kind: _kind, ...old } = row('small');
    void _kind;
    expect(isSpeechModel(old as ModelRow)).toBe(true);
  });
});

describe('importing a text model folder', () => {
  it('picks a folder and imports it with import_model', async () => {
    invoke.mockImplementation(async (name: string) => (name === 'pick_folder' ? '/home/me/ppocr' : { ...TEXT, present: true, path: '/home/me/ppocr' }));
    const imported = await importTextModelFolder();
    expect(invoke.mock.calls).toEqual([
      ['pick_folder', {}],
      ['import_model', { path: '/home/me/ppocr' }],
    ]);
    expect(imported?.kind).toBe('text');
    expect(get(models).map((m) => [m.name, m.present])).toEqual([['ppocr-v4-mobile', true]]);
  });

  it('does nothing when the picker is dismissed', async () => {
    invoke.mockResolvedValue(null);
    expect(await importTextModelFolder()).toBeNull();
    expect(invoke).toHaveBeenCalledTimes(1);
  });
});

describe('importing a summary model', () => {
  it('picks a .gguf file and imports it with import_model', async () => {
    const gguf = row('notes.Q4_K_M.gguf', { kind: 'summary', present: true, path: '/models/summary/notes.Q4_K_M.gguf' });
    invoke.mockImplementation(async (name: string) => (name === 'pick_model_file' ? '/home/me/notes.Q4_K_M.gguf' : gguf));
    const imported = await importModelFile();
    expect(invoke.mock.calls).toEqual([
      ['pick_model_file', {}],
      ['import_model', { path: '/home/me/notes.Q4_K_M.gguf' }],
    ]);
    expect(imported?.kind).toBe('summary');
    expect(groupModels(get(models)).summary.map((m) => m.name)).toEqual(['notes.Q4_K_M.gguf']);
  });
});
