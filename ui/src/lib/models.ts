// Models: the catalogue (Whisper speech models, the text model that reads slides, the
// speaker models that tell voices apart and the summary models that write notes),
// downloads with progress ('model-progress'), imports.
import { writable } from 'svelte/store';
import { call } from './api';
import type { ModelRow } from './types';

export interface DownloadProgress {
  done: number;
  total: number;
}

export const models = writable<ModelRow[]>([]);
/** Downloads in progress by model name. */
export const downloads = writable<Record<string, DownloadProgress>>({});

/** A Whisper model, one the settings can name for transcription (a row without a kind is one). */
export function isSpeechModel(m: Pick<ModelRow, 'kind'>): boolean {
  return m.kind === undefined || m.kind === 'whisper';
}

/** The rows in their groups, each in the catalogue's order: speech models, the text model(s), the
 * speaker models, the summary models (the catalogue's, then the GGUF files imported). */
export function groupModels(rows: readonly ModelRow[]): { speech: ModelRow[]; text: ModelRow[]; speaker: ModelRow[]; summary: ModelRow[] } {
  return {
    speech: rows.filter(isSpeechModel),
    text: rows.filter((m) => m.kind === 'text'),
    speaker: rows.filter((m) => m.kind === 'speaker'),
    summary: rows.filter((m) => m.kind === 'summary'),
  };
}

export function progressFraction(p: DownloadProgress | null | undefined): number {
  if (!p || !(p.total > 0)) return 0;
  return Math.min(1, Math.max(0, p.done / p.total));
}

export function onModelProgress(event: { name: string; done: number; total: number }): void {
  downloads.update((all) => ({ ...all, [event.name]: { done: event.done, total: event.total } }));
}

function replaceRow(row: ModelRow): void {
  models.update((all) => (all.some((m) => m.name === row.name) ? all.map((m) => (m.name === row.name ? row : m)) : [...all, row]));
}

function forget(name: string): void {
  downloads.update((all) => {
    const { [name]: _dropped, ...rest } = all;
    void _dropped;
    return rest;
  });
}

export async function loadModels(): Promise<ModelRow[]> {
  const list = await call('list_models');
  models.set(list);
  downloads.update((all) => {
    const next = { ...all };
    for (const m of list) if (m.downloading && !next[m.name]) next[m.name] = { ...m.downloading };
    return next;
  });
  return list;
}

/** Resolves when the download is done (or rejects when it fails or is cancelled). */
export async function downloadModel(name: string): Promise<ModelRow> {
  downloads.update((all) => ({ ...all, [name]: all[name] ?? { done: 0, total: 0 } }));
  try {
    const row = await call('download_model', { name });
    replaceRow(row);
    return row;
  } finally {
    forget(name);
  }
}

export async function cancelDownload(name: string): Promise<void> {
  await call('cancel_download', { name });
  forget(name);
}

/** Imports a ggml file, a GGUF summary model or a text model folder, or converts a faster-whisper model folder. */
export async function importModelFrom(path: string): Promise<ModelRow> {
  const row = await call('import_model', { path });
  replaceRow(row);
  return row;
}

/** A model file: a ggml Whisper model or a GGUF summary model (the picker offers both). Null when the picker was dismissed. */
export async function importModelFile(): Promise<ModelRow | null> {
  const path = await call('pick_model_file');
  return path ? importModelFrom(path) : null;
}

/** A folder holding a text model (a `*det*.onnx` and a `*rec*.onnx`); null when the picker was dismissed. */
export async function importTextModelFolder(): Promise<ModelRow | null> {
  const path = await call('pick_folder');
  return path ? importModelFrom(path) : null;
}

/** Imports a folder of speaker models (a pyannote segmentation and a voiceprint ONNX file). */
export async function importSpeakerModelFolder(): Promise<ModelRow | null> {
  const path = await call('pick_folder');
  return path ? importModelFrom(path) : null;
}
