import { beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...args: unknown[]) => invoke(...args) }));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }));

import { summaryTemplates } from '../src/lib/api';
import { translate, type Translate } from '../src/lib/i18n';
import { normalizeSettings, sameSettings, validateSettings } from '../src/lib/settings-validation';
import {
  DEFAULT_SUMMARY,
  chapterAt,
  chooseMethod,
  defaultPrompts,
  editPrompt,
  formatActionItem,
  hasNotes,
  installedSummaryModels,
  normalizeSummary,
  promptFieldText,
  promptTemplateOf,
  showsEndpoint,
  stageMessage,
  summaryModelChoices,
  summaryModelInUse,
  summaryOf,
  summaryStageMessage,
  withoutPrompt,
  writtenBy,
} from '../src/lib/summary';
import type { AppSettings, DocSummary, Endpoint, ModelRow, SummarySettings } from '../src/lib/types';
import { makeSettings } from './fixtures';

const en: Translate = (key, params) => translate('en', key, params);
const zh: Translate = (key, params) => translate('zh-CN', key, params);

const ENDPOINT: Endpoint = { base_url: 'https://llm.example/v1', model: 'gpt-4o-mini', api_key: 'k', context: 16384 };
const REMEMBERED: Endpoint = { base_url: 'http://127.0.0.1:11434/v1', model: '', api_key: null };
const DEFAULTS = { lecture: 'Write study notes.', meeting: 'Write the minutes.', abstract: 'Write an abstract.' };

function summary(over: Partial<SummarySettings> = {}): SummarySettings {
  return { ...DEFAULT_SUMMARY, prompts: {}, ...over };
}

function model(name: string, over: Partial<ModelRow> = {}): ModelRow {
  return { name, kind: 'summary', size_bytes: 1, multilingual: true, present: false, path: `/m/${name}`, downloading: null, ...over };
}

beforeEach(() => invoke.mockReset());

describe('the summary method radios', () => {
  it('built-in and the local model put the service aside, and choosing the service brings it back', () => {
    const builtin = chooseMethod({ summary: summary({ method: 'endpoint' }), summary_endpoint: ENDPOINT }, 'builtin', REMEMBERED);
    expect(builtin.summary.method).toBe('builtin');
    expect(builtin.summary_endpoint).toBeNull();
    expect(builtin.remembered).toEqual(ENDPOINT);

    const back = chooseMethod({ summary: builtin.summary, summary_endpoint: null }, 'endpoint', builtin.remembered);
    expect(back.summary.method).toBe('endpoint');
    expect(back.summary_endpoint).toEqual(ENDPOINT);
    expect(back.summary_endpoint).not.toBe(ENDPOINT); // a copy, to edit

    const local = chooseMethod({ summary: summary(), summary_endpoint: ENDPOINT }, 'local', REMEMBERED);
    expect(local.summary_endpoint).toBeNull();
    expect(local.remembered).toEqual(ENDPOINT);
  });

  it('the service starts from the last one (a local server by default) when none was set', () => {
    const first = chooseMethod({ summary: summary({ method: 'builtin' }), summary_endpoint: null }, 'endpoint', REMEMBERED);
    expect(first.summary_endpoint).toEqual(REMEMBERED);
  });

  it('automatic keeps the service it falls back to, and keeps none when none is set', () => {
    const kept = chooseMethod({ summary: summary({ method: 'endpoint' }), summary_endpoint: ENDPOINT }, 'auto', REMEMBERED);
    expect(kept.summary.method).toBe('auto');
    expect(kept.summary_endpoint).toEqual(ENDPOINT);
    const none = chooseMethod({ summary: summary({ method: 'builtin' }), summary_endpoint: null }, 'auto', REMEMBERED);
    expect(none.summary_endpoint).toBeNull();
  });

  it('changes nothing else of the summary settings', () => {
    const before = summary({ template: 'meeting', language: 'zh', model: 'smollm2-135m-instruct', context: 4096, prompts: { meeting: 'Mine.' } });
    const after = chooseMethod({ summary: before, summary_endpoint: null }, 'local', REMEMBERED).summary;
    expect(after).toEqual({ ...before, method: 'local' });
  });

  it('show the service fields for the service, and for automatic while one is set', () => {
    expect(showsEndpoint(summary({ method: 'endpoint' }), ENDPOINT)).toBe(true);
    expect(showsEndpoint(summary({ method: 'auto' }), ENDPOINT)).toBe(true);
    expect(showsEndpoint(summary({ method: 'auto' }), null)).toBe(false);
    expect(showsEndpoint(summary({ method: 'local' }), ENDPOINT)).toBe(false);
    expect(showsEndpoint(summary({ method: 'builtin' }), ENDPOINT)).toBe(false);
  });

  it('take the defaults when a shell older than the summary settings leaves them out', () => {
    const older = makeSettings() as Partial<AppSettings>;
    delete older.summary;
    expect(summaryOf(older as AppSettings)).toEqual(DEFAULT_SUMMARY);
    expect(summaryOf(null)).toEqual(DEFAULT_SUMMARY);
    expect(summaryOf(makeSettings({ summary: summary({ method: 'local' }) })).method).toBe('local');
  });
});

describe('the instructions shown for a template', () => {
  it('edit lecture notes’ instructions for automatic (meeting notes keep their own)', () => {
    expect(promptTemplateOf('auto')).toBe('lecture');
    expect(promptTemplateOf('meeting')).toBe('meeting');
    expect(promptTemplateOf('abstract')).toBe('abstract');
  });

  it('take the defaults from summary_templates', () => {
    expect(defaultPrompts([{ name: 'lecture', default_prompt: 'L' }, { name: 'meeting', default_prompt: 'M' }])).toEqual({ lecture: 'L', meeting: 'M' });
    expect(defaultPrompts([])).toEqual({});
  });

  it('show the person’s own text, else the default to edit, else nothing once emptied', () => {
    expect(promptFieldText({ lecture: 'Mine.' }, 'lecture', DEFAULTS, false)).toBe('Mine.');
    expect(promptFieldText({ lecture: 'Mine.' }, 'lecture', DEFAULTS, true)).toBe('Mine.');
    expect(promptFieldText({}, 'meeting', DEFAULTS, false)).toBe('Write the minutes.');
    expect(promptFieldText({ meeting: '   ' }, 'meeting', DEFAULTS, false)).toBe('Write the minutes.');
    expect(promptFieldText({}, 'meeting', DEFAULTS, true)).toBe('');
    expect(promptFieldText({}, 'abstract', {}, false)).toBe(''); // no defaults from an older shell
  });

  it('keep an edit that differs from the default, and remove the key for the default or nothing', () => {
    const own = editPrompt({ meeting: 'Mine.' }, 'lecture', 'Write short study notes.', DEFAULTS.lecture);
    expect(own).toEqual({ prompts: { meeting: 'Mine.', lecture: 'Write short study notes.' }, emptied: false });

    const same = editPrompt({ lecture: 'Old.' }, 'lecture', '  Write study notes.\n', DEFAULTS.lecture);
    expect(same).toEqual({ prompts: {}, emptied: false });

    const emptied = editPrompt({ lecture: 'Old.', abstract: 'A.' }, 'lecture', ' ', DEFAULTS.lecture);
    expect(emptied).toEqual({ prompts: { abstract: 'A.' }, emptied: true });

    expect(editPrompt({}, 'abstract', 'Mine.', undefined)).toEqual({ prompts: { abstract: 'Mine.' }, emptied: false });
  });

  it('reset to the default by removing the template’s key only', () => {
    const prompts = { lecture: 'L.', meeting: 'M.' };
    expect(withoutPrompt(prompts, 'lecture')).toEqual({ meeting: 'M.' });
    expect(withoutPrompt(prompts, 'abstract')).toEqual(prompts);
    expect(prompts).toEqual({ lecture: 'L.', meeting: 'M.' }); // not changed in place
  });
});

describe('saving the summary settings', () => {
  it('trims the instructions, leaves out empty ones, and names nothing as null', () => {
    const s = normalizeSummary(summary({ prompts: { abstract: '  A.  ', meeting: ' ', lecture: 'L.' }, language: ' ', model: '  qwen2.5-1.5b-instruct ' }));
    expect(s.prompts).toEqual({ lecture: 'L.', abstract: 'A.' });
    expect(s.language).toBeNull();
    expect(s.model).toBe('qwen2.5-1.5b-instruct');
  });

  it('orders the instructions as the core does, so saved settings do not look changed', () => {
    const saved = makeSettings({ summary: summary({ prompts: { lecture: 'L.', meeting: 'M.' } }) });
    const edited = makeSettings({ summary: summary({ prompts: { meeting: 'M.', lecture: 'L.' } }) });
    expect(sameSettings(normalizeSettings(edited), saved)).toBe(true);
    expect(Object.keys(normalizeSummary(summary({ prompts: { abstract: 'A.', lecture: 'L.' } })).prompts)).toEqual(['lecture', 'abstract']);
  });

  it('checks the local model’s context (512 to 131072 tokens) and the service’s', () => {
    expect(validateSettings(makeSettings())).toEqual({});
    expect(validateSettings(makeSettings({ summary: summary({ context: 256 }) }))['summary.context']).toEqual({ key: 'valid.range', params: { min: 512, max: 131072 } });
    expect(validateSettings(makeSettings({ summary: summary({ context: NaN }) }))['summary.context']?.key).toBe('valid.integer');
    expect(validateSettings(makeSettings({ summary: summary({ context: 131072 }) }))).toEqual({});
    const service = (context: number) => makeSettings({ summary_endpoint: { ...ENDPOINT, context } });
    expect(validateSettings(service(200_000))['summary_endpoint.context']?.key).toBe('valid.range');
    expect(validateSettings(service(8192))).toEqual({});
    expect(validateSettings(makeSettings({ summary_endpoint: { base_url: 'http://x', model: 'm' } }))).toEqual({}); // no context: the default
  });
});

describe('the local summary model', () => {
  const rows = [
    model('tiny', { kind: 'whisper', present: true }),
    model('qwen2.5-1.5b-instruct'),
    model('qwen2.5-coder-0.5b-instruct', { present: true }),
    model('smollm2-135m-instruct', { present: true }),
    model('notes.Q4_K_M.gguf', { present: true }),
  ];

  it('offers the installed summary models, and the one chosen when it is not installed', () => {
    expect(installedSummaryModels(rows).map((m) => m.name)).toEqual(['qwen2.5-coder-0.5b-instruct', 'smollm2-135m-instruct', 'notes.Q4_K_M.gguf']);
    expect(summaryModelChoices(rows, null).every((c) => c.present)).toBe(true);
    expect(summaryModelChoices(rows, 'qwen2.5-1.5b-instruct').at(-1)).toEqual({ name: 'qwen2.5-1.5b-instruct', present: false });
    expect(summaryModelChoices(rows, 'notes.Q4_K_M.gguf')).toHaveLength(3);
    expect(summaryModelChoices([], null)).toEqual([]);
  });

  it('uses the one named when installed, else (none named) the first installed', () => {
    expect(summaryModelInUse(rows, null)).toBe('qwen2.5-coder-0.5b-instruct');
    expect(summaryModelInUse(rows, 'notes.Q4_K_M.gguf')).toBe('notes.Q4_K_M.gguf');
    expect(summaryModelInUse(rows, 'qwen2.5-1.5b-instruct')).toBeNull();
    expect(summaryModelInUse([rows[0]], null)).toBeNull();
  });
});

describe('a document’s notes', () => {
  it('write an action item with its owner and due date when said', () => {
    expect(formatActionItem(en, { task: 'Plot the loss', owner: 'Maria', due: 'Friday' })).toBe('Plot the loss (owner: Maria, due: Friday)');
    expect(formatActionItem(en, { task: 'Rerun the baseline', owner: 'Wei', due: null })).toBe('Rerun the baseline (owner: Wei)');
    expect(formatActionItem(en, { task: 'Write it up', due: 'next week' })).toBe('Write it up (due: next week)');
    expect(formatActionItem(en, { task: ' Tidy up ', owner: ' ', due: '' })).toBe('Tidy up');
    expect(formatActionItem(zh, { task: '整理数据', owner: '王伟', due: '周五' })).toBe('整理数据（负责人：王伟，截止：周五）');
  });

  it('say who wrote them', () => {
    expect(writtenBy(en, { method: 'local', model: 'qwen2.5-1.5b-instruct' })).toBe('Written by the local model qwen2.5-1.5b-instruct');
    expect(writtenBy(en, { method: 'endpoint', model: 'gpt-4o-mini' })).toBe('Written by gpt-4o-mini through the summary service');
    expect(writtenBy(en, { method: 'endpoint', model: null })).toBe('Written by the summary service');
    expect(writtenBy(en, { method: 'built-in' })).toBe('Built-in summary: key sentences of the transcript');
    expect(writtenBy(zh, { method: 'local', model: 'qwen' })).toBe('由本机模型 qwen 撰写');
    expect(writtenBy(en, { method: 'something-new' })).toBe('Written by something-new');
  });

  it('have something to show when any part is there', () => {
    const bare: DocSummary = { points: [], method: 'built-in', note: null };
    expect(hasNotes(bare)).toBe(false);
    expect(hasNotes({ ...bare, overview: '  ' })).toBe(false);
    expect(hasNotes({ ...bare, overview: 'About it.' })).toBe(true);
    expect(hasNotes({ ...bare, action_items: [{ task: 'x' }] })).toBe(true);
    expect(hasNotes({ ...bare, points: ['a'] })).toBe(true);
    expect(hasNotes(null)).toBe(false);
  });

  it('mark the chapter playing', () => {
    const chapters = [
      { title: 'A', start_ms: 0, end_ms: 10_000 },
      { title: 'B', start_ms: 10_000, end_ms: 25_000 },
      { title: 'C', start_ms: 25_000, end_ms: 40_000 },
    ];
    expect(chapterAt(chapters, 0)).toBe(0);
    expect(chapterAt(chapters, 9_999)).toBe(0);
    expect(chapterAt(chapters, 10_000)).toBe(1);
    expect(chapterAt(chapters, 99_000)).toBe(2);
    expect(chapterAt([{ title: 'late', start_ms: 5_000, end_ms: 9_000 }], 1_000)).toBe(-1);
    expect(chapterAt(undefined, 1_000)).toBe(-1);
  });
});

describe('the summary stage’s progress', () => {
  it('is said in words of the locale', () => {
    expect(summaryStageMessage(en, 'chapter 2 of 7')).toBe('Chapter 2 of 7');
    expect(summaryStageMessage(en, 'chapter 2 of 7, part 1 of 3')).toBe('Chapter 2 of 7, part 1 of 3');
    expect(summaryStageMessage(zh, 'chapter 2 of 7')).toBe('第 2 章，共 7 章');
    expect(summaryStageMessage(zh, 'chapter 2 of 7, part 1 of 3')).toBe('第 2 章（共 7 章）的第 1 部分，共 3 部分');
    expect(summaryStageMessage(en, 'the whole')).toBe('Notes on the whole recording');
    expect(summaryStageMessage(zh, 'summarised')).toBe('笔记已写好');
    expect(summaryStageMessage(en, 'summarising')).toBe('Getting ready to write the notes');
  });

  it('leaves other messages as they are', () => {
    expect(summaryStageMessage(en, 'asking the model')).toBe('asking the model');
    expect(stageMessage(zh, 'audio', 'chapter 2 of 7')).toBe('chapter 2 of 7');
    expect(stageMessage(zh, 'summary', 'chapter 2 of 7')).toBe('第 2 章，共 7 章');
  });
});

describe('summaryTemplates', () => {
  it('calls summary_templates', async () => {
    const list = [{ name: 'lecture', default_prompt: 'L' }];
    invoke.mockResolvedValue(list);
    expect(await summaryTemplates()).toEqual(list);
    expect(invoke).toHaveBeenCalledWith('summary_templates', {});
  });
});
