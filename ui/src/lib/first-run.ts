// The first-run guide. While the model the settings name is not installed, the queue view
// offers one by the languages a person picks (a one-click download with progress and
// cancel), or the import of a model file or a faster-whisper folder. Whatever is installed
// is then named in the settings; videos added meanwhile wait (waiting.ts) and start by
// themselves once it is there. The steps are a pure reducer; `createGuide` runs them over
// the shell's commands (injected, so the tests drive it without a shell).
import { get, writable, type Readable } from 'svelte/store';
import { call } from './api';
import { loadSettings, saveSettings, settings } from './app-state';
import { toCommandError } from './command-error';
import { cancelDownload, downloadModel, importModelFrom, isSpeechModel } from './models';
import { pushToast, toastError } from './toasts';
import type { AppSettings, CommandError, Languages, ModelRow } from './types';

export const LANGUAGE_CHOICES: readonly Languages[] = ['english_only', 'chinese', 'several'];

export type ImportKind = 'file' | 'folder';

export type GuideState =
  /** Nothing picked yet. */
  | { step: 'choose' }
  /** Asking the shell which model suits `languages`. */
  | { step: 'recommending'; languages: Languages }
  /** A model offered: Download (or Use, when it is already installed). */
  | { step: 'ready'; languages: Languages; model: ModelRow }
  | { step: 'downloading'; languages: Languages; model: ModelRow; cancelling: boolean }
  /** Importing (a folder is converted); `back` is where a failed import returns to. */
  | { step: 'importing'; kind: ImportKind; back: ChoosingState }
  /** Installed and named in the settings; the panel goes once the shell confirms it. */
  | { step: 'installed'; model: string };

/** The states a person chooses in (the others run something). */
export type ChoosingState = Extract<GuideState, { step: 'choose' | 'recommending' | 'ready' }>;

export type GuideEvent =
  | { type: 'pick'; languages: Languages }
  | { type: 'recommended'; languages: Languages; model: ModelRow }
  | { type: 'recommendFailed'; languages: Languages }
  | { type: 'download' }
  | { type: 'cancel' }
  /** The download ended: the installed model, or null when it failed or was cancelled. */
  | { type: 'downloadEnded'; model: ModelRow | null }
  | { type: 'import'; kind: ImportKind }
  | { type: 'importEnded'; model: ModelRow | null }
  /** The model the settings name is there (or the guide starts over). */
  | { type: 'reset' };

const choosing = (s: GuideState): s is ChoosingState => s.step === 'choose' || s.step === 'recommending' || s.step === 'ready';

/** The next state; an event that does not apply to the state leaves it as it is. */
export function reduce(state: GuideState, event: GuideEvent): GuideState {
  switch (event.type) {
    case 'pick':
      return choosing(state) ? { step: 'recommending', languages: event.languages } : state;
    case 'recommended':
      // A late answer for an earlier pick is dropped.
      return state.step === 'recommending' && state.languages === event.languages
        ? { step: 'ready', languages: event.languages, model: event.model }
        : state;
    case 'recommendFailed':
      return state.step === 'recommending' && state.languages === event.languages ? { step: 'choose' } : state;
    case 'download':
      return state.step === 'ready' ? { step: 'downloading', languages: state.languages, model: state.model, cancelling: false } : state;
    case 'cancel':
      return state.step === 'downloading' ? { ...state, cancelling: true } : state;
    case 'downloadEnded':
      if (state.step !== 'downloading') return state;
      return event.model ? { step: 'installed', model: event.model.name } : { step: 'ready', languages: state.languages, model: state.model };
    case 'import':
      return choosing(state) ? { step: 'importing', kind: event.kind, back: state } : state;
    case 'importEnded':
      if (state.step !== 'importing') return state;
      return event.model ? { step: 'installed', model: event.model.name } : state.back;
    case 'reset':
      return { step: 'choose' };
  }
}

/** The languages picked in `state`, if any. */
export function languagesOf(state: GuideState): Languages | null {
  switch (state.step) {
    case 'recommending':
    case 'ready':
    case 'downloading':
      return state.languages;
    case 'importing':
      return languagesOf(state.back);
    default:
      return null;
  }
}

/** The spoken language to transcribe with: English for English only, detected otherwise. */
export function languageFor(languages: Languages): string | null {
  return languages === 'english_only' ? 'en' : null;
}

/**
 * The settings once `model` is chosen: it is the model, and the spoken language follows the
 * languages picked; with none picked (an import straight away) an English-only model means
 * English, and a multilingual one keeps the language set before.
 */
export function settingsWithModel(s: AppSettings, model: ModelRow, languages: Languages | null): AppSettings {
  const language = languages ? languageFor(languages) : model.multilingual ? s.language : 'en';
  return { ...s, model: model.name, language };
}

export interface GuideDeps {
  recommend(languages: Languages): Promise<ModelRow>;
  /** Resolves with the installed model once downloaded (progress arrives elsewhere). */
  download(name: string): Promise<ModelRow>;
  cancel(name: string): Promise<void>;
  /** A native picker; null when dismissed. */
  pick(kind: ImportKind): Promise<string | null>;
  importModel(path: string): Promise<ModelRow>;
  /** Names the model in the settings (with the spoken language for `languages`). */
  choose(model: ModelRow, languages: Languages | null): Promise<void>;
  /** Whether the model the settings name is installed. */
  modelPresent(): Promise<boolean>;
  onError(error: CommandError): void;
  onInstalled?(model: ModelRow, how: 'downloaded' | 'imported'): void;
}

export interface Guide {
  state: Readable<GuideState>;
  /** Whether the guide shows: the model the settings name is missing. False until known. */
  needed: Readable<boolean>;
  pick(languages: Languages): Promise<void>;
  download(): Promise<void>;
  cancel(): Promise<void>;
  importFrom(kind: ImportKind): Promise<void>;
  /** Asks the shell whether the model is there now. */
  refresh(): Promise<void>;
  setModelPresent(present: boolean): void;
}

export function createGuide(deps: GuideDeps): Guide {
  const state = writable<GuideState>({ step: 'choose' });
  const needed = writable(false);
  const send = (event: GuideEvent) => state.update((s) => reduce(s, event));

  function setModelPresent(present: boolean) {
    needed.set(!present);
    if (present) send({ type: 'reset' });
  }

  async function refresh() {
    try {
      setModelPresent(await deps.modelPresent());
    } catch {
      // Unknown for now: the panel stays as it is, and the next check tells.
    }
  }

  async function pick(languages: Languages) {
    send({ type: 'pick', languages });
    const now = get(state);
    if (now.step !== 'recommending' || now.languages !== languages) return;
    try {
      send({ type: 'recommended', languages, model: await deps.recommend(languages) });
    } catch (e) {
      send({ type: 'recommendFailed', languages });
      deps.onError(toCommandError(e));
    }
  }

  async function download() {
    const s = get(state);
    if (s.step !== 'ready') return;
    send({ type: 'download' });
    try {
      // Named first: whoever finishes the download, the waiting videos then use this model.
      await deps.choose(s.model, s.languages);
      const row = s.model.present ? s.model : await deps.download(s.model.name);
      send({ type: 'downloadEnded', model: row });
      if (!s.model.present) deps.onInstalled?.(row, 'downloaded');
      await refresh();
    } catch (e) {
      const now = get(state);
      const cancelled = now.step === 'downloading' && now.cancelling;
      send({ type: 'downloadEnded', model: null });
      if (!cancelled) deps.onError(toCommandError(e));
    }
  }

  async function cancel() {
    const s = get(state);
    if (s.step !== 'downloading' || s.cancelling) return;
    send({ type: 'cancel' });
    try {
      await deps.cancel(s.model.name);
    } catch (e) {
      // Too late to cancel (it just finished or failed): the download's own end says so.
      if (get(state).step === 'downloading') deps.onError(toCommandError(e));
    }
  }

  async function importFrom(kind: ImportKind) {
    const s = get(state);
    if (!choosing(s)) return;
    let path: string | null;
    try {
      path = await deps.pick(kind);
    } catch (e) {
      deps.onError(toCommandError(e));
      return;
    }
    if (!path) return;
    send({ type: 'import', kind });
    try {
      const row = await deps.importModel(path);
      if (!isSpeechModel(row)) {
        // A text model folder: installed, but it does not transcribe; the speech model is still to get.
        send({ type: 'importEnded', model: null });
        deps.onInstalled?.(row, 'imported');
        return;
      }
      await deps.choose(row, languagesOf(s));
      send({ type: 'importEnded', model: row });
      deps.onInstalled?.(row, 'imported');
      await refresh();
    } catch (e) {
      send({ type: 'importEnded', model: null });
      deps.onError(toCommandError(e));
    }
  }

  return {
    state: { subscribe: state.subscribe },
    needed: { subscribe: needed.subscribe },
    pick,
    download,
    cancel,
    importFrom,
    refresh,
    setModelPresent,
  };
}

/** The app's guide, over the shell. */
export const firstRun = createGuide({
  recommend: (languages) => call('recommended_model', { languages }),
  download: downloadModel,
  cancel: cancelDownload,
  pick: (kind) => call(kind === 'file' ? 'pick_model_file' : 'pick_model_folder'),
  importModel: importModelFrom,
  choose: async (model, languages) => {
    const s = get(settings) ?? (await loadSettings());
    await saveSettings(settingsWithModel(s, model, languages));
  },
  modelPresent: async () => (await call('dashboard')).health.model_present,
  onError: (error) => toastError(error),
  onInstalled: (model, how) =>
    pushToast({ kind: 'success', title: { key: how === 'downloaded' ? 'settings.modelDownloaded' : 'settings.modelImported', params: { name: model.name } } }),
});
