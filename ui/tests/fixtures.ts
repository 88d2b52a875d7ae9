import type { AppSettings, ItemRow, StageRow, State } from '../src/lib/types';

export function makeStage(kind: string, state: State, fraction = 0): StageRow {
  return {
    job: Math.floor(Math.random() * 1e9),
    kind,
    queue: kind,
    state,
    progress: { fraction, stage: kind, message: '' },
    attempts: 1,
    started_at: null,
    finished_at: null,
    error: null,
    upstream: null,
  };
}

export function makeRow(n: number, over: Partial<ItemRow> = {}): ItemRow {
  return {
    key: `g${n}`,
    group: n,
    title: `video-${String(n).padStart(5, '0')}.mp4`,
    input: `/videos/video-${n}.mp4`,
    state: 'pending',
    priority: 'normal',
    queue: 'video',
    progress: 0,
    eta_ms: null,
    created_at: 1_700_000_000_000 + n * 1000,
    started_at: null,
    finished_at: null,
    error: null,
    stages: [],
    ...over,
  };
}

export function makeSettings(over: Partial<AppSettings> = {}): AppSettings {
  return {
    formats: ['md', 'html'],
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
    ui_language: null,
    theme: 'system',
    notify: true,
    chinese_script: 'simplified',
    subtitles: { line_width: 42, max_lines: 2, min_ms: 1000, max_ms: 7000 },
    slide_sensitivity: 'slides',
    slide_text: true,
    speakers: 'auto',
    path_map: [],
    shared_roots: [],
    ...over,
  };
}
