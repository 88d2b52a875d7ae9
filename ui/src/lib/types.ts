// The contract between the desktop shell (src-tauri/src/commands.rs) and the UI.
// Data returned by commands uses the Rust field names (snake_case); command arguments
// are passed in camelCase, as Tauri maps them to the Rust parameter names.

export type State =
  | 'blocked'
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'dead';
export type Priority = 'low' | 'normal' | 'high' | 'critical';
export const QUEUES = ['video', 'audio', 'image', 'summary', 'export'] as const;
export type QueueName = (typeof QUEUES)[number];
export type Format = 'md' | 'html' | 'docx' | 'pdf' | 'srt' | 'vtt' | 'txt' | 'json';

export interface Progress {
  fraction: number; // 0..1
  stage: string;
  message: string;
}

/** One step (job) of an item. */
export interface StageRow {
  job: number;
  kind: string; // video | audio | image | summary | export
  queue: string;
  state: State;
  progress: Progress;
  attempts: number;
  started_at: number | null; // ms since the epoch
  finished_at: number | null;
  error: string | null; // its own failure in plain words; null when it did not run (see upstream)
  upstream: number | null; // the job whose failure (or cancellation) stopped it before it ran
  waiting_for?: string | null; // what a held stage waits for ("a speech model"); absent otherwise
}

/** One row of the queue view: a video's workflow (key "g<group>") or a lone task (key "j<job>"). */
export interface ItemRow {
  key: string;
  group: number | null;
  title: string; // the input's file name
  input: string | null; // the input's path
  state: State; // overall
  priority: Priority;
  queue: string; // the queue of the stage that runs now (or ran last)
  progress: number; // 0..1 overall: 1 once succeeded, else the work done (a failed item shows how far it got)
  eta_ms: number | null; // estimated time left, when running
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null; // plain words
  /** What the item waits for while nothing of it runs ("a speech model": added before a model
   * was installed; it goes on by itself once one is); absent otherwise. */
  waiting_for?: string | null;
  stages: StageRow[];
}

export interface TimelineEntry {
  job: number;
  kind: string;
  at: number;
  from: State | null;
  to: State;
  note: string;
  error: string | null; // the technical detail of the stage's own failure
  upstream: number | null; // on the entry where a stage failed without running: the job that stopped it
}

export interface OutputFile {
  path: string;
  format: Format;
  bytes: number;
}

export interface TranscriptLine {
  start_ms: number;
  end_ms: number;
  text: string;
  speaker?: number; // one of ItemDetail.speakers' ids, once the document names speakers
}

export interface Speaker {
  id: number;
  name: string; // "Speaker 1" until someone names them
  speech_ms: number;
}

export interface RememberedVoice {
  name: string;
  added: string; // RFC 3339
  source: string; // the recording it was remembered from
}

export type SpeakerCount = 'auto' | 'off' | `${number}`;

export interface SlideThumb {
  index: number;
  start_ms: number | null; // null while the slides are still being saved
  thumbnail: string; // a file path; show it with convertFileSrc
  image: string;
  title?: string; // the slide's title as written on it; absent until read, or when it has none
  text?: string; // the rest of the slide's text, lines separated by "\n"; absent likewise
}

export interface ItemDetail {
  row: ItemRow;
  timeline: TimelineEntry[];
  output_dir: string | null;
  outputs: OutputFile[];
  transcript: TranscriptLine[]; // so far, while it runs
  slides: SlideThumb[]; // so far, while it runs
  preview_html: string | null; // path of the HTML document when there is one
  speakers: Speaker[]; // two or more: the transcript is labelled
  document: string | null; // the JSON document, once made (what a rename rewrites)
}

export interface ProcessOptions {
  out_dir?: string | null;
  formats?: Format[] | null;
  model?: string | null;
  language?: string | null;
  priority?: Priority | null;
  translate?: boolean;
  prompt?: string | null;
  speakers?: SpeakerCount | null; // the setting's when absent
}

export interface ImportReport {
  accepted: { path: string; key: string }[];
  rejected: { path: string; reason: string }[];
}

export interface KindStats {
  [k: string]: unknown;
}

export interface Stats {
  at: number;
  counts: Record<string, Partial<Record<State, number>>>;
  totals: Partial<Record<State, number>>;
  kinds: Record<string, KindStats>;
  finished_last_hour: number;
  throughput_per_minute: number[]; // 60 buckets, oldest first
  failure_rate: number;
}

export interface SlotInfo {
  job: number;
  kind: string;
  since: number;
  progress: Progress;
}

export interface WorkerInfo {
  queue: string;
  concurrency: number;
  paused: boolean;
  running: SlotInfo[];
}

export interface QueueHealth {
  ok: boolean;
  store: string;
  store_writable: boolean;
  store_error: string | null;
  free_disk_bytes: number | null;
  min_free_disk_bytes: number; // below this much free disk no new job starts
  claims_stopped: string | null; // why no new job starts now (in English); null while jobs start
  quarantined: number; // stored records set aside because they could not be read
  quarantined_jobs: number[]; // the first jobs among them
  all_paused: boolean;
  [k: string]: unknown;
}

export interface AppHealth {
  ok: boolean;
  queue: QueueHealth;
  ffmpeg: string | null; // version line, null when not found
  ffprobe: string | null;
  model: string;
  model_present: boolean;
  cpu_problem: string | null; // why transcription cannot run on this processor
  ffmpeg_path: string | null; // the ffmpeg used: bundled beside the app, else from PATH
  gpu: GpuSurvey; // the GPU builds installed and the devices they found
  device: string; // where a transcription runs now: "cpu" or "vulkan: <device>"
  device_note: string | null; // why not on a GPU, when that may surprise (in English)
}

/** A device a GPU build of the transcription can run on (the core's `device::GpuDevice`). */
export interface GpuDevice {
  backend: string; // vulkan, metal or cuda
  index: number;
  name: string;
  kind: 'discrete' | 'integrated' | 'virtual' | 'other' | 'software';
  memory_mib: number;
  free_mib?: number | null;
}

/** The GPU workers installed beside the app, the devices they found, and what went wrong asking. */
export interface GpuSurvey {
  workers: { backend: string; program: string }[];
  devices: GpuDevice[];
  problems: string[];
}

/** Where speech is recognised: auto (a GPU with room for the model, else the CPU), cpu, or gpu. */
export type DeviceSetting = 'auto' | 'cpu' | 'gpu';

/** One worker process registered on the queue (several machines share a Redis queue). */
export interface MachineWorker {
  id: string;
  host: string;
  pid: number;
  version: string;
  schema: number;
  queues: Record<string, number>;
  default_concurrency: number;
  kinds: string[];
  running: number;
  started_at: number;
  heartbeat_at: number;
  expires_at: number;
}

export interface Dashboard {
  stats: Stats;
  workers: WorkerInfo[];
  health: AppHealth;
  machines: MachineWorker[];
}

export interface Endpoint {
  base_url: string;
  model: string;
  api_key?: string | null;
  prompt?: string | null; // extra instructions after the template's (settings from before templates); null: none
  timeout_s?: number;
  context?: number; // the model's context in tokens (512..131072, default 8192): requests are planned to fit it
}

/** Who writes the chapters and the summary (the core's `summary::Method`). */
export type SummaryMethod = 'auto' | 'local' | 'endpoint' | 'builtin';
/** What kind of notes are written (the core's `summary::Template`); auto: meeting notes when several speakers are heard, else lecture notes. */
export type SummaryTemplateName = 'auto' | 'lecture' | 'meeting' | 'abstract';
/** A template with instructions of its own (auto uses lecture's or meeting's). */
export type PromptTemplate = Exclude<SummaryTemplateName, 'auto'>;

/** How summaries are written (the core's `app::settings::SummarySettings`). */
export interface SummarySettings {
  method: SummaryMethod; // auto: a local model when one is installed, else the endpoint when one is set, else the built-in summary
  template: SummaryTemplateName;
  prompts: Partial<Record<PromptTemplate, string>>; // the person's own instructions; absent: the template's default
  language: string | null; // the notes' language; null: the recording's
  model: string | null; // a summary model of the catalogue or a .gguf file name in the models folder; null: the first installed
  context: number; // tokens per request for the local model (512..131072, default 8192)
}

/** A template and the instructions it gives a model when the person wrote none (`summary_templates`). */
export interface SummaryTemplate {
  name: PromptTemplate;
  default_prompt: string;
}

/** One watched folder (the Rust `watch::WatchedFolder`, serde's externally tagged enums). */
export interface WatchSetting {
  path: string;
  recursive: boolean;
  extensions: string[]; // empty: every supported type
  output: 'beside_source' | { folder: string };
  formats: Format[] | null; // null: the settings' formats
  model: string | null;
  language: string | null;
  priority: Priority;
  after_success: 'keep' | 'delete' | { move_to: string };
}

/** How Chinese transcripts are written (the core's `ChineseScript`). */
export type ChineseScript = 'simplified' | 'traditional' | 'as_heard';

/** How readily a change of picture makes a slide (the core's `slides::Sensitivity`). */
export type SlideSensitivity = 'slides' | 'mixed' | 'screen';

/** How subtitles are cut (the core's `export::SubtitleStyle`). */
export interface SubtitleStyle {
  line_width: number; // columns a line may take: a Latin character is one, a CJK character two
  max_lines: number;
  min_ms: number; // the shortest time a cue shows
  max_ms: number; // the longest time a cue shows
}

export interface AppSettings {
  formats: Format[];
  output_dir: string | null;
  model: string;
  language: string | null;
  summary_endpoint: Endpoint | null;
  summary: SummarySettings; // method, template, instructions, language and local model of the summaries
  concurrency: Record<string, number>;
  retention_days: number;
  threads: number;
  watch: WatchSetting[];
  http_api: { enabled: boolean; port: number };
  ui_language: 'en' | 'zh-CN' | null; // null: from the OS
  theme: 'system' | 'light' | 'dark';
  notify: boolean;
  model_source?: string | null; // a mirror of Hugging Face; null: Hugging Face
  model_catalogue?: string | null; // an organisation's own catalogue (a JSON file)
  queue_url?: string | null; // a shared queue on Redis (redis:// or rediss://); null: the queue on this computer
  queue_ca_file?: string | null; // for rediss://: the CA of the server's certificate
  path_map: { from: string; to: string }[]; // where a shared queue's storage is mounted here
  shared_roots: string[]; // the folders this computer serves a shared queue's jobs from
  chinese_script: ChineseScript;
  subtitles: SubtitleStyle;
  slide_sensitivity: SlideSensitivity;
  slide_text: boolean; // read the titles and words on slides (needs the text model)
  speakers: SpeakerCount; // tell speakers apart (needs the speaker models): auto, off or a number
  device?: DeviceSetting; // where speech is recognised; auto when absent
}

/** What a model does: Whisper transcribes speech; the text model reads the words on slides; the
 * speaker models tell voices apart; a summary model (GGUF) writes chapters and notes. */
export type ModelKind = 'whisper' | 'text' | 'speaker' | 'summary';

export interface ModelRow {
  name: string;
  kind: ModelKind;
  size_bytes: number;
  multilingual: boolean;
  present: boolean;
  path: string;
  downloading: { done: number; total: number; note?: string } | null;
}

/** The languages a person will transcribe, as the first-run guide asks (the core's `Languages`). */
export type Languages = 'english_only' | 'chinese' | 'several';

export interface AppInfo {
  version: string;
  commit: string | null;
  target: string;
  profile: string;
  data_dir: string;
  config_dir: string;
  logs_dir: string;
  output_dir: string; // the effective default output folder
  locale: string; // the OS locale, e.g. "zh-CN"
  extensions: string[]; // supported input extensions, lower case, no dot
}

/** Every command rejects with this. 'unavailable': the job queue is not open yet (see QueueConnection). */
export interface CommandError {
  code: 'bad_request' | 'not_found' | 'unavailable' | 'failed';
  message: string; // plain words
  detail: string | null; // the technical detail
}

/**
 * Whether the job queue is open (the shell opens it in the background: the window works
 * before it is, and while a shared queue cannot be reached).
 */
export interface QueueConnection {
  state: 'opening' | 'open' | 'unavailable';
  shared: string | null; // the shared queue's address (no password); null: the queue on this computer
  problem: string | null; // why it is not open, in English (the window words it from `cause`)
  cause: string | null; // the cause alone
  retrying: boolean; // tried again by itself every few seconds
}

/** Command name -> [arguments, result]. */
/** A document as `schema/document.schema.json` describes it (the JSON export). */
export interface DocWord { start_ms: number; end_ms: number; text: string; p: number }
export interface DocSegment {
  start_ms: number;
  end_ms: number;
  text: string;
  words?: DocWord[];
  language?: string | null;
  speaker?: number | null;
}
export interface DocSection {
  index: number;
  start_ms: number;
  end_ms: number;
  image: string | null;
  thumbnail: string | null;
  title?: string | null;
  slide_text?: string | null;
  text: string;
}
export interface DocSpeaker { id: number; name: string; speech_ms: number }
export interface DocTerm { term: string; definition: string }
export interface DocActionItem { task: string; owner?: string | null; due?: string | null }
/** The notes on the whole recording; the lists a template does not write are absent. */
export interface DocSummary {
  points: string[];
  method: string; // 'local' | 'endpoint' | 'built-in'
  note: string | null; // why the built-in summary was used instead of the chosen method
  model?: string | null; // the model that wrote it (local, endpoint)
  template?: SummaryTemplateName | null;
  language?: string | null;
  overview?: string | null;
  terms?: DocTerm[];
  decisions?: string[];
  action_items?: DocActionItem[];
  questions?: string[];
}
/** A chapter: slides, or a topic of the speech. */
export interface DocChapter { title: string; start_ms: number; end_ms: number; summary?: string; points?: string[] }
export interface Doc {
  schema: number;
  title: string;
  source: string;
  duration_ms: number;
  language: string | null;
  created: string;
  model: string | null;
  summary: DocSummary;
  chapters?: DocChapter[];
  sections: DocSection[];
  segments: DocSegment[];
  speakers?: DocSpeaker[];
}

/** A document of the library (crates/core/src/library/catalogue.rs). */
export interface LibraryEntry {
  id: string;
  folder: string;
  stem: string;
  json: string;
  title: string;
  source: string;
  created: string;
  duration_ms: number;
  language: string | null;
  speakers: string[];
  thumbnail: string | null;
  slides: number;
  formats: Format[];
  stamp: string;
  missing: boolean;
}

/** A search hit: a passage of a document, at its time. */
export interface Hit {
  id: string;
  document: string;
  title: string;
  passage: 'title' | 'summary' | 'slide' | 'speech';
  start_ms: number;
  end_ms: number;
  slide: number | null;
  speaker: string | null;
  snippet: string;
  /** Character ranges of `snippet` that matched. */
  marks: [number, number][];
}

export interface Version { number: number; saved: string }
export interface Editing { entry: LibraryEntry; document: Doc; draft: boolean; versions: Version[] }
export interface Edited { document: Doc; changed: number }
export interface ReplacedIn { id: string; title: string; changed: number }

/** One edit of a document (crates/core/src/document/edit.rs). */
export type Edit =
  | { edit: 'text'; segment: number; text: string }
  | { edit: 'split'; segment: number; word: number }
  | { edit: 'merge'; segment: number }
  | { edit: 'rename_speaker'; id: number; name: string }
  | { edit: 'speaker'; segment: number; speaker: number | null }
  | { edit: 'title'; title: string }
  | { edit: 'replace'; find: string; replace: string; match_case: boolean; whole_word: boolean };

export interface Commands {
  app_info: [Record<string, never>, AppInfo];
  list_items: [{ state?: State | null; queue?: string | null; limit?: number | null }, ItemRow[]];
  item_detail: [{ key: string }, ItemDetail];
  import_paths: [{ paths: string[]; options?: ProcessOptions | null }, ImportReport];
  pick_files: [Record<string, never>, string[]]; // native dialog; [] when dismissed
  pick_folder: [Record<string, never>, string | null];
  pick_model_file: [Record<string, never>, string | null];
  pick_model_folder: [Record<string, never>, string | null]; // a faster-whisper model folder
  cancel_item: [{ key: string }, ItemRow];
  retry_item: [{ key: string }, ItemRow];
  set_priority: [{ key: string; priority: Priority }, ItemRow];
  pause_queue: [{ queue: string | null }, WorkerInfo[]]; // null: all queues
  resume_queue: [{ queue: string | null }, WorkerInfo[]];
  clear_finished: [Record<string, never>, number]; // rows removed
  dashboard: [Record<string, never>, Dashboard];
  get_settings: [Record<string, never>, AppSettings];
  save_settings: [{ settings: AppSettings }, AppSettings];
  list_models: [Record<string, never>, ModelRow[]];
  recommended_model: [{ languages: Languages }, ModelRow]; // the first-run guide's recommendation
  download_model: [{ name: string }, ModelRow]; // resolves when done; progress via 'model-progress'
  cancel_download: [{ name: string }, null];
  import_model: [{ path: string }, ModelRow]; // a ggml file, a GGUF summary model, a faster-whisper folder (converted), or a text model folder (*det*.onnx and *rec*.onnx)
  open_path: [{ path: string }, null]; // with the OS default app
  reveal_path: [{ path: string }, null]; // in the file manager
  queue_connection: [Record<string, never>, QueueConnection];
  reconnect_queue: [Record<string, never>, QueueConnection]; // tries to open the queue now
  rename_speaker: [{ document: string; id: number; name: string; remember: boolean }, string[]]; // files written again
  remembered_voices: [Record<string, never>, RememberedVoice[]];
  forget_voice: [{ name: string }, boolean];
  summary_templates: [Record<string, never>, SummaryTemplate[]]; // lecture, meeting, abstract and their default instructions
  library_documents: [Record<string, never>, LibraryEntry[]]; // newest first
  search_library: [{ query: string; limit?: number | null }, Hit[]];
  open_document: [{ id: string }, Editing & { media_url: string | null }]; // the recording, served on loopback
  edit_document: [{ id: string; edit: Edit }, Edited]; // saved before it resolves
  save_draft: [{ id: string; document: Doc }, null]; // undo and redo
  discard_draft: [{ id: string }, null];
  restore_version: [{ id: string; number: number }, Doc];
  export_again: [{ id: string }, string[]]; // files written
  replace_everywhere: [{ edit: Edit }, ReplacedIn[]];
  delete_document: [{ id: string; files: boolean }, null];
}

/** Events the shell emits. */
export interface Events {
  /** Rows that changed since the last event, at most ~4 per second. */
  'items-changed': { items: ItemRow[]; removed: string[] };
  'queues-changed': WorkerInfo[];
  'model-progress': { name: string; done: number; total: number };
  /** Files handed over by a second launch, the command line or a watched folder, already imported. */
  'items-imported': ImportReport;
  /** The app hit an internal error (a panic); the detail is also in the log. */
  'app-error': CommandError;
  /** The job queue's connection changed (opened, or a new problem). */
  'queue-connection': QueueConnection;
}
