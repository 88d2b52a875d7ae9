// A fake shell for `npm run demo` (vite --mode demo): the UI in a plain browser, with simulated
// work. Never part of a production build (main.ts imports it only in demo mode).
import { mockIPC, mockWindows } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import { QUEUES } from '../lib/types';
import type { AppSettings, Commands, Doc, DocChapter, DocSummary, ItemDetail, ItemRow, LibraryEntry, ModelRow, State, SummaryTemplate, WorkerInfo } from '../lib/types';

const params = new URLSearchParams(location.search);
const COUNT = Number(params.get('n') ?? 200);
const now = Date.now();
const rows = new Map<string, ItemRow>();
const names = ['Lecture', 'Meeting', 'Screencast', '讲座', 'Webinar', 'Standup', 'Interview'];
const stateCycle: State[] = ['succeeded', 'running', 'pending', 'pending', 'failed', 'blocked', 'succeeded', 'cancelled', 'dead'];

/** What a running stage says; the summary stage counts chapters as the core's does. */
function runningMessage(kind: string, fraction: number): string {
  if (kind !== 'summary') return `Working on ${kind}…`;
  if (fraction >= 0.9) return 'the whole';
  const at = (fraction / 0.9) * 7;
  const chapter = Math.floor(at) + 1;
  return chapter === 3 ? `chapter 3 of 7, part ${at % 1 < 0.5 ? 1 : 2} of 2` : `chapter ${chapter} of 7`;
}

function stagesFor(state: State, progress: number, job: number) {
  const done = Math.floor(progress * QUEUES.length);
  return QUEUES.map((kind, i) => {
    // After a failed stage the rest fail without running, naming it (as the core's items do).
    const notRun = state === 'failed' && i > done;
    const s: State = state === 'succeeded' ? 'succeeded' : i < done ? 'succeeded' : i === done ? (state === 'running' ? 'running' : state === 'failed' ? 'failed' : 'pending') : notRun ? 'failed' : 'blocked';
    return {
      job: job * 10 + i,
      kind,
      queue: kind,
      state: s,
      progress: { fraction: s === 'running' ? (progress * QUEUES.length) % 1 : s === 'succeeded' ? 1 : 0, stage: kind, message: s === 'running' ? runningMessage(kind, (progress * QUEUES.length) % 1) : '' },
      attempts: s === 'failed' ? 3 : 1,
      started_at: now - 60_000,
      finished_at: null,
      error: s === 'failed' && !notRun ? 'ffmpeg could not read the audio track.' : null,
      upstream: notRun ? job * 10 + done : null,
    };
  });
}

for (let i = 0; i < COUNT; i += 1) {
  const state = stateCycle[i % stateCycle.length];
  const progress = state === 'succeeded' ? 1 : state === 'running' ? (i * 37) % 100 / 100 : state === 'failed' ? 0.3 : 0;
  const row: ItemRow = {
    key: `g${i + 1}`,
    group: i + 1,
    title: `${names[i % names.length]} ${String(i + 1).padStart(4, '0')}.mp4`,
    input: `/home/me/Videos/${names[i % names.length]} ${i + 1}.mp4`,
    state,
    priority: (['normal', 'normal', 'high', 'low', 'critical'] as const)[i % 5],
    queue: QUEUES[Math.min(4, Math.floor(progress * 5))],
    progress,
    eta_ms: state === 'running' ? (1 - progress) * 400_000 : null,
    created_at: now - (COUNT - i) * 60_000,
    started_at: state === 'pending' || state === 'blocked' ? null : now - 300_000,
    finished_at: state === 'succeeded' || state === 'failed' ? now - 1000 : null,
    error: state === 'failed' ? 'The audio could not be read: the file may be damaged.' : null,
    stages: [],
  };
  row.stages = stagesFor(state, progress, i + 1);
  rows.set(row.key, row);
}

let workers: WorkerInfo[] = QUEUES.map((queue) => ({ queue, concurrency: queue === 'image' ? 2 : 1, paused: false, running: [] }));
let settings: AppSettings = {
  formats: ['md', 'html', 'pdf', 'srt'],
  output_dir: null,
  model: 'base',
  language: null,
  summary_endpoint: null,
  summary: { method: 'auto', template: 'auto', prompts: {}, language: null, model: null, context: 8192 },
  concurrency: { video: 1, audio: 1, image: 2, summary: 1, export: 2 },
  retention_days: 30,
  threads: 0,
  watch: [],
  http_api: { enabled: false, port: 8765 },
  ui_language: (params.get('lang') as AppSettings['ui_language']) ?? null,
  theme: (params.get('theme') as AppSettings['theme']) ?? 'system',
  notify: true,
  chinese_script: 'simplified',
  subtitles: { line_width: 42, max_lines: 2, min_ms: 1000, max_ms: 7000 },
  slide_sensitivity: 'slides',
  slide_text: true,
  speakers: 'auto',
  device: 'auto',
  path_map: [],
  shared_roots: [],
};
const models: ModelRow[] = [
  { name: 'tiny', kind: 'whisper', size_bytes: 77_691_713, multilingual: true, present: true, path: '/models/ggml-tiny.bin', downloading: null },
  { name: 'base', kind: 'whisper', size_bytes: 147_951_465, multilingual: true, present: true, path: '/models/ggml-base.bin', downloading: null },
  { name: 'small', kind: 'whisper', size_bytes: 487_601_967, multilingual: true, present: false, path: '/models/ggml-small.bin', downloading: null },
  { name: 'medium', kind: 'whisper', size_bytes: 1_533_763_059, multilingual: true, present: false, path: '/models/ggml-medium.bin', downloading: null },
  { name: 'base.en', kind: 'whisper', size_bytes: 147_964_211, multilingual: false, present: false, path: '/models/ggml-base.en.bin', downloading: null },
  { name: 'small-q5_1', kind: 'whisper', size_bytes: 190_085_487, multilingual: true, present: false, path: '/models/ggml-small-q5_1.bin', downloading: null },
  { name: 'ppocr-v4-mobile', kind: 'text', size_bytes: 16_357_000, multilingual: true, present: false, path: '/models/ppocr-v4-mobile', downloading: null },
  { name: 'qwen2.5-1.5b-instruct', kind: 'summary', size_bytes: 1_117_320_736, multilingual: true, present: true, path: '/models/summary/qwen2.5-1.5b-instruct-q4_k_m.gguf', downloading: null },
  { name: 'qwen2.5-coder-0.5b-instruct', kind: 'summary', size_bytes: 491_400_064, multilingual: true, present: false, path: '/models/summary/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf', downloading: null },
  { name: 'smollm2-135m-instruct', kind: 'summary', size_bytes: 98_362_432, multilingual: false, present: false, path: '/models/summary/SmolLM2-135M-Instruct.Q4_1.gguf', downloading: null },
];
// The templates' default instructions, as the core writes them.
const templates: SummaryTemplate[] = [
  {
    name: 'lecture',
    default_prompt:
      'You write study notes of a recorded lecture or talk. Keep the facts, names, numbers and technical terms the speaker uses, and define each term as the speaker explains it. Leave out greetings, jokes and filler. Never add anything that was not said.',
  },
  {
    name: 'meeting',
    default_prompt:
      'You write the minutes of a recorded meeting. A decision is something the people agreed on. An action item is a task someone said they or another person will do: give its owner and due date only when they were said. An open question is something raised and not settled. Never add anything that was not said.',
  },
  {
    name: 'abstract',
    default_prompt:
      'You write a short abstract of a recording: what it is about and what it concludes, for someone deciding whether to watch it. Never add anything that was not said.',
  },
];
// ?firstrun: no model installed yet; the pending videos wait for one (the first-run guide).
if (params.has('firstrun')) {
  for (const m of models) m.present = false;
  for (const r of rows.values()) {
    if (r.state !== 'pending') continue;
    r.waiting_for = 'a speech model';
    const audio = r.stages.find((st) => st.kind === 'audio');
    if (audio) audio.waiting_for = 'a speech model';
  }
}
const modelPresent = () => models.some((m) => m.present && m.name === settings.model);

const slide = (n: number) =>
  `data:image/svg+xml,${encodeURIComponent(`<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180"><rect width="320" height="180" fill="#234"/><text x="20" y="100" font-size="28" fill="#fff">Slide ${n}</text></svg>`)}`;

// The words read on the first slides (one English, one Chinese, one with a title alone); the rest have none.
const slideWords: { title?: string; text?: string }[] = [
  { title: 'Quarterly review: what changed since the spring release', text: 'Revenue up 12% on last year\nTwo new regions: Nordics and Japan\nSupport tickets down by a third\nHiring plan for the second half' },
  { title: '第二部分：系统架构', text: '任务队列与工作进程\n语音识别（Whisper）\n幻灯片文字识别（OCR）' },
  { title: 'Questions?' },
];

function detail(key: string): ItemDetail {
  const row = rows.get(key);
  if (!row) throw { code: 'not_found', message: `No item ${key}.`, detail: null };
  const lines = Math.round(row.progress * 40);
  return {
    row,
    timeline: row.stages.filter((s) => s.state !== 'blocked').map((s) => ({
      job: s.job, kind: s.kind, at: now - 50_000, from: 'pending', to: s.state, note: '', error: s.error ? 'ffmpeg exited with status 1: Invalid data found when processing input' : null, upstream: s.upstream,
    })),
    output_dir: row.state === 'succeeded' ? `/home/me/Documents/Video2Doc/${row.title}` : null,
    outputs: row.state === 'succeeded' ? settings.formats.map((format) => ({ path: `/home/me/Documents/Video2Doc/${row.title}/${row.title}.${format}`, format, bytes: 12_345 * (format.length + 3) })) : [],
    transcript: Array.from({ length: lines }, (_, i) => ({
      start_ms: i * 4200, end_ms: i * 4200 + 4000, text: `Sentence number ${i + 1} of the talk, spoken clearly.`,
      ...(row.state === 'succeeded' ? { speaker: (Math.floor(i / 3) % 2) + 1 } : {}),
    })),
    slides: Array.from({ length: Math.round(row.progress * 8) }, (_, i) => ({ index: i, start_ms: i * 30_000, thumbnail: slide(i + 1), image: `/tmp/slide-${i}.png`, ...slideWords[i] })),
    preview_html: row.state === 'succeeded' ? 'data:text/html,<h1>Preview</h1><p>The document.</p>' : null,
    speakers: row.state === 'succeeded' ? speakerNames.map((name, i) => ({ id: i + 1, name, speech_ms: 60_000 })) : [],
    document: row.state === 'succeeded' ? `/home/me/Documents/Video2Doc/${row.title}/${row.title}.json` : null,
  };
}

// The demo's two speakers (renamed in place) and the voices remembered.
const speakerNames = ['Speaker 1', 'Speaker 2'];
let voices: { name: string; added: string; source: string }[] = [];

type Handler = { [K in keyof Commands]: (args: Commands[K][0]) => Commands[K][1] | Promise<Commands[K][1]> };
// The notes of the demo's documents: meeting notes by the local model, lecture notes by an
// endpoint, and the built-in summary after the local model failed.
const demoSummaries: DocSummary[] = [
  {
    points: ['The step size decides whether training settles or diverges.', 'The loss surface is examined before the next run.', '今天的讨论主题是机器学习。'],
    method: 'local',
    note: null,
    model: 'qwen2.5-1.5b-instruct',
    template: 'meeting',
    language: 'en',
    overview: 'The team reviewed why last week’s training runs diverged, agreed on a smaller step size, and planned a look at the loss surface before the next run.',
    decisions: ['Use a step size of 0.001 for the next training run.', 'Keep the current data split until the review.'],
    action_items: [
      { task: 'Plot the loss surface of the last checkpoint', owner: 'Maria', due: 'Friday' },
      { task: 'Rerun the baseline with the new step size', owner: 'Wei', due: null },
      { task: 'Write up the results for the wiki', owner: null, due: 'next week' },
    ],
    questions: ['Does the learning-rate schedule need warm-up?'],
  },
  {
    points: ['Gradient descent moves against the gradient, one small step at a time.', 'Too large a step overshoots the minimum.'],
    method: 'endpoint',
    note: null,
    model: 'gpt-4o-mini',
    template: 'lecture',
    language: 'en',
    overview: 'An introduction to gradient descent: how the step size is chosen and what the loss surface shows.',
    terms: [
      { term: 'Gradient descent', definition: 'Finding a minimum by stepping against the gradient.' },
      { term: 'Loss surface', definition: 'The loss as a function of the model’s parameters.' },
    ],
  },
  {
    points: ['Gradient descent needs a small step size.', 'We look at the loss surface next.'],
    method: 'built-in',
    note: 'The local model could not write the summary: the model file is damaged. This is the built-in summary instead.',
    template: 'lecture',
    language: 'en',
  },
];
const demoChapters: DocChapter[] = [
  { title: 'Why the runs diverged', start_ms: 0, end_ms: 20_000, summary: 'Last week’s training runs diverged after a few epochs; the step size was too large.', points: ['The loss grew after epoch three.'] },
  { title: 'Choosing a step size', start_ms: 20_000, end_ms: 40_000, summary: 'A smaller step size settles the training; 0.001 was agreed on.' },
  { title: '下一步：损失曲面', start_ms: 40_000, end_ms: 60_000, summary: '下次训练之前先查看损失曲面。' },
];

// The library: a few documents of the demo's items, edited in memory.
function demoDoc(i: number): Doc {
  const segments = Array.from({ length: 12 }, (_, k) => {
    const text = k % 3 === 0 ? 'Gradient descent needs a small step size.' : k % 3 === 1 ? 'We look at the loss surface next.' : '今天我们讨论机器学习。';
    const words = text.split(' ').map((w, j, all) => ({ start_ms: k * 5000 + (j * 4000) / all.length, end_ms: k * 5000 + ((j + 1) * 4000) / all.length, text: ` ${w}`, p: 0.9 }));
    return { start_ms: k * 5000, end_ms: k * 5000 + 4000, text, words };
  });
  return {
    schema: 1,
    title: `${names[i % names.length]} ${i + 1}`,
    source: `/videos/demo-${i + 1}.mp4`,
    duration_ms: 60_000,
    language: 'en',
    created: new Date(now - i * 86_400_000).toISOString(),
    model: 'base',
    summary: demoSummaries[i % demoSummaries.length],
    chapters: demoChapters,
    sections: [0, 1].map((n) => ({ index: n + 1, start_ms: n * 30_000, end_ms: (n + 1) * 30_000, image: null, thumbnail: null, title: slideWords[n]?.title ?? null, slide_text: slideWords[n]?.text ?? null, text: '' })),
    segments,
  };
}
const docs = new Map<string, Doc>(Array.from({ length: 4 }, (_, i) => [`doc${i}`, demoDoc(i)]));
function demoEntry(id: string, d: Doc): LibraryEntry {
  return { id, folder: `/out/${d.title}`, stem: d.title, json: `/out/${d.title}/${d.title}.json`, title: d.title, source: d.source, created: d.created, duration_ms: d.duration_ms, language: d.language, speakers: [], thumbnail: null, slides: 2, formats: settings.formats, stamp: '', missing: false };
}

const handlers: Handler = {
  app_info: () => ({
    version: '0.1.0-demo', commit: 'abc1234', target: 'x86_64-unknown-linux-gnu', profile: 'debug',
    data_dir: '/home/me/.local/share/video2doc', config_dir: '/home/me/.config/video2doc', logs_dir: '/home/me/.local/share/video2doc/logs',
    output_dir: '/home/me/Documents/Video2Doc', locale: params.get('locale') ?? navigator.language,
    extensions: ['mp4', 'mkv', 'mov', 'webm', 'avi', 'mp3', 'wav', 'm4a', 'flac'],
  }),
  list_items: ({ limit }) => [...rows.values()].slice(0, limit ?? undefined),
  item_detail: ({ key }) => detail(key),
  import_paths: ({ paths }) => ({
    accepted: paths.filter((p) => p.endsWith('.mp4')).map((path, i) => ({ path, key: `g${rows.size + i + 1}` })),
    rejected: paths.filter((p) => !p.endsWith('.mp4')).map((path) => ({ path, reason: 'not a video or audio file Video2Doc can read' })),
  }),
  pick_files: () => ['/home/me/a.mp4', '/home/me/notes.txt'],
  pick_folder: () => '/home/me/Recordings',
  pick_model_file: () => null,
  pick_model_folder: () => null,
  cancel_item: ({ key }) => update(key, { state: 'cancelled', eta_ms: null }),
  retry_item: ({ key }) => update(key, { state: 'pending', error: null }),
  set_priority: ({ key, priority }) => update(key, { priority }),
  pause_queue: ({ queue }) => (workers = workers.map((w) => (queue === null || w.queue === queue ? { ...w, paused: true } : w))),
  resume_queue: ({ queue }) => (workers = workers.map((w) => (queue === null || w.queue === queue ? { ...w, paused: false } : w))),
  clear_finished: () => {
    const gone = [...rows.values()].filter((r) => r.state === 'succeeded').map((r) => r.key);
    gone.forEach((k) => rows.delete(k));
    return gone.length;
  },
  dashboard: () => {
    const totals: Partial<Record<State, number>> = {};
    const counts: Record<string, Partial<Record<State, number>>> = {};
    for (const r of rows.values()) {
      totals[r.state] = (totals[r.state] ?? 0) + 1;
      counts[r.queue] ??= {};
      counts[r.queue][r.state] = (counts[r.queue][r.state] ?? 0) + 1;
    }
    const running = [...rows.values()].filter((r) => r.state === 'running').slice(0, 6);
    return {
      stats: { at: Date.now(), counts, totals, kinds: {}, finished_last_hour: 42, throughput_per_minute: Array.from({ length: 60 }, (_, i) => Math.round(3 + 3 * Math.sin(i / 5) + (i % 7 === 0 ? 4 : 0))), failure_rate: 0.08 },
      workers: workers.map((w) => ({ ...w, running: w.paused ? [] : running.filter((r) => r.queue === w.queue).slice(0, w.concurrency).map((r) => ({ job: r.group ?? 0, kind: w.queue, since: now - 90_000, progress: { fraction: r.progress, stage: w.queue, message: '' } })) })),
      health: { ok: false, queue: { ok: true, store: '/data/queue.db', store_writable: true, store_error: null, free_disk_bytes: 52_000_000_000, min_free_disk_bytes: 200 * 1024 ** 2, claims_stopped: null, quarantined: 0, quarantined_jobs: [], all_paused: workers.every((w) => w.paused) }, ffmpeg: 'ffmpeg version 6.1.1', ffprobe: 'ffprobe version 6.1.1', model: `/models/ggml-${settings.model}.bin`, model_present: modelPresent(), cpu_problem: null, ffmpeg_path: '/usr/bin/ffmpeg', gpu: { workers: [{ backend: 'vulkan', program: '/usr/lib/video2doc/video2doc-whisper-vulkan' }], devices: [{ backend: 'vulkan', index: 0, name: 'AMD Radeon 780M', kind: 'integrated', memory_mib: 4096, free_mib: 3900 }], problems: [] }, device: settings.device === 'cpu' ? 'cpu' : 'vulkan: AMD Radeon 780M', device_note: null },
      machines: [],
    };
  },
  get_settings: () => settings,
  save_settings: ({ settings: next }) => (settings = next),
  list_models: () => models,
  recommended_model: ({ languages }) => models.find((m) => m.name === (languages === 'english_only' ? 'base.en' : 'small-q5_1'))!,
  download_model: async ({ name }) => {
    const m = models.find((x) => x.name === name)!;
    if (name === 'medium') {
      await new Promise((r) => setTimeout(r, 400));
      throw {
        code: 'failed',
        message: `downloading https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-medium.bin failed: Dns Failed: resolve dns name 'huggingface.co:443': failed to lookup address information: Temporary failure in name resolution (run the download again to resume)`,
        detail: null,
      };
    }
    for (let done = 0; done <= m.size_bytes; done += m.size_bytes / 20) {
      await new Promise((r) => setTimeout(r, 200));
      void emit('model-progress', { name, done, total: m.size_bytes });
    }
    m.present = true;
    // Held videos go on once the model the settings name is there.
    if (modelPresent()) for (const r of rows.values()) if (r.waiting_for) update(r.key, { waiting_for: null });
    return m;
  },
  cancel_download: () => null,
  import_model: () => models[0],
  open_path: () => null,
  reveal_path: () => null,
  queue_connection: () => ({ state: 'open', shared: null, problem: null, cause: null, retrying: false }),
  reconnect_queue: () => ({ state: 'open', shared: null, problem: null, cause: null, retrying: false }),
  rename_speaker: ({ document, id, name, remember }) => {
    speakerNames[id - 1] = name.trim() || `Speaker ${id}`;
    if (remember) voices = [...voices.filter((v) => v.name !== name), { name, added: new Date(now).toISOString(), source: document }];
    return settings.formats.map((f) => document.replace(/\.json$/, `.${f}`));
  },
  remembered_voices: () => voices,
  summary_templates: () => templates,
  library_documents: () => [...docs].map(([id, d]) => demoEntry(id, d)),
  search_library: ({ query }) => {
    const q = query.toLowerCase().replace(/"/g, '');
    return [...docs].flatMap(([id, d]) =>
      d.segments
        .filter((s) => s.text.toLowerCase().includes(q))
        .map((s) => {
          const at = Array.from(s.text.toLowerCase()).join('').indexOf(q);
          return { id, document: `/out/${d.title}.json`, title: d.title, passage: 'speech' as const, start_ms: s.start_ms, end_ms: s.end_ms, slide: s.start_ms < 30_000 ? 1 : 2, speaker: null, snippet: s.text, marks: [[at, at + Array.from(q).length]] as [number, number][] };
        }),
    );
  },
  open_document: ({ id }) => ({ entry: demoEntry(id, docs.get(id)!), document: structuredClone(docs.get(id)!), draft: false, versions: [], media_url: null }),
  edit_document: ({ id, edit }) => {
    const d = docs.get(id)!;
    if (edit.edit === 'text') d.segments[edit.segment].text = edit.text;
    if (edit.edit === 'merge') {
      const [a, b] = d.segments.splice(edit.segment, 2);
      d.segments.splice(edit.segment, 0, { ...a, end_ms: b.end_ms, text: `${a.text} ${b.text}`, words: [...(a.words ?? []), ...(b.words ?? [])] });
    }
    return { document: structuredClone(d), changed: 1 };
  },
  save_draft: ({ id, document }) => {
    docs.set(id, structuredClone(document));
    return null;
  },
  discard_draft: () => null,
  restore_version: ({ id }) => structuredClone(docs.get(id)!),
  export_again: ({ id }) => settings.formats.map((f) => `/out/${docs.get(id)!.title}.${f}`),
  replace_everywhere: () => [],
  delete_document: ({ id }) => {
    docs.delete(id);
    return null;
  },
  forget_voice: ({ name }) => {
    const before = voices.length;
    voices = voices.filter((v) => v.name !== name);
    return voices.length !== before;
  },
};

function update(key: string, patch: Partial<ItemRow>): ItemRow {
  const row = { ...rows.get(key)!, ...patch };
  rows.set(key, row);
  void emit('items-changed', { items: [row], removed: [] });
  return row;
}

mockWindows('main');
mockIPC((cmd, args) => (handlers as unknown as Record<string, (a: unknown) => unknown>)[cmd]?.(args ?? {}), { shouldMockEvents: true });
(window as unknown as { __TAURI_INTERNALS__: { convertFileSrc: (p: string) => string } }).__TAURI_INTERNALS__.convertFileSrc = (p) => p;

// Progress ticks, four times a second, like the shell.
setInterval(() => {
  const changed: ItemRow[] = [];
  for (const r of rows.values()) {
    if (r.state !== 'running' || workers.every((w) => w.paused)) continue;
    const progress = Math.min(1, r.progress + 0.004);
    const next: ItemRow = { ...r, progress, eta_ms: (1 - progress) * 400_000, state: progress >= 1 ? 'succeeded' : 'running' };
    next.stages = stagesFor(next.state, progress, r.group ?? 0);
    rows.set(r.key, next);
    changed.push(next);
  }
  if (changed.length) void emit('items-changed', { items: changed, removed: [] });
}, 250);
