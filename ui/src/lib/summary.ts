// Summaries and chapters without the DOM: the summary settings (method, template, the
// instructions shown for a template, the local model), and a document's notes as the
// editor shows them (who wrote them, action items, the chapter playing, the summary
// stage's progress in words).
import type { MessageKey, Translate } from './i18n';
import type {
  AppSettings,
  DocActionItem,
  DocChapter,
  DocSummary,
  Endpoint,
  ModelRow,
  PromptTemplate,
  SummaryMethod,
  SummarySettings,
  SummaryTemplate,
  SummaryTemplateName,
} from './types';

export const SUMMARY_METHODS: readonly SummaryMethod[] = ['auto', 'local', 'endpoint', 'builtin'];
export const SUMMARY_TEMPLATES: readonly SummaryTemplateName[] = ['auto', 'lecture', 'meeting', 'abstract'];
export const PROMPT_TEMPLATES: readonly PromptTemplate[] = ['lecture', 'meeting', 'abstract'];

/** The languages offered for the notes, each named in itself (as the interface language menu is). */
export const SUMMARY_LANGUAGES: readonly { code: string; name: string }[] = [
  { code: 'en', name: 'English' },
  { code: 'zh', name: '简体中文' },
  { code: 'ja', name: '日本語' },
  { code: 'ko', name: '한국어' },
  { code: 'de', name: 'Deutsch' },
  { code: 'fr', name: 'Français' },
  { code: 'es', name: 'Español' },
];

/** Tokens per request a summary model may be given (the core's settings check). */
export const CONTEXT_LIMITS = { min: 512, max: 131_072, default: 8192 } as const;

export const DEFAULT_SUMMARY: SummarySettings = {
  method: 'auto',
  template: 'auto',
  prompts: {},
  language: null,
  model: null,
  context: CONTEXT_LIMITS.default,
};

/** The summary settings of `s`, with the defaults for what a shell older than them leaves out. */
export function summaryOf(s: Pick<AppSettings, 'summary'> | null | undefined): SummarySettings {
  const got = s?.summary;
  return { ...DEFAULT_SUMMARY, ...(got ?? {}), prompts: { ...(got?.prompts ?? {}) } };
}

/** The parts of the settings a method choice changes. */
export interface MethodChoice {
  summary: SummarySettings;
  summary_endpoint: Endpoint | null;
  /** The endpoint last set, brought back when the service is chosen again. */
  remembered: Endpoint;
}

/**
 * Chooses how summaries are written. The service's fields stay for "endpoint", and for
 * "auto" when one is set (auto falls back to it when no local model is installed); the
 * local model and the built-in summary never use it, so it is put aside (not saved) and
 * brought back when the service is chosen again.
 */
export function chooseMethod(
  current: { summary: SummarySettings; summary_endpoint: Endpoint | null },
  method: SummaryMethod,
  remembered: Endpoint,
): MethodChoice {
  const summary = { ...current.summary, method };
  const endpoint = current.summary_endpoint;
  if (method === 'endpoint') return { summary, summary_endpoint: endpoint ?? { ...remembered }, remembered: endpoint ?? remembered };
  if (method === 'auto') return { summary, summary_endpoint: endpoint, remembered: endpoint ?? remembered };
  return { summary, summary_endpoint: null, remembered: endpoint ?? remembered };
}

/** Whether the service's fields are shown: always for the service, for auto while one is set. */
export function showsEndpoint(summary: SummarySettings, endpoint: Endpoint | null): boolean {
  return summary.method === 'endpoint' || (summary.method === 'auto' && endpoint !== null);
}

/** The template whose instructions the field edits: auto writes lecture notes unless several speakers are heard. */
export function promptTemplateOf(template: SummaryTemplateName): PromptTemplate {
  return template === 'auto' ? 'lecture' : template;
}

/** The default instructions by template, from `summary_templates`. */
export function defaultPrompts(list: readonly SummaryTemplate[]): Partial<Record<PromptTemplate, string>> {
  const out: Partial<Record<PromptTemplate, string>> = {};
  for (const t of list) if ((PROMPT_TEMPLATES as readonly string[]).includes(t.name)) out[t.name] = t.default_prompt;
  return out;
}

/** Whether the person wrote their own instructions for `template`. */
export function isOwnPrompt(prompts: SummarySettings['prompts'], template: PromptTemplate): boolean {
  return !!prompts[template]?.trim();
}

/**
 * The text of the instructions field: the person's own, else the default (to edit from);
 * empty once the person emptied it (the placeholder then shows the default, which is used).
 */
export function promptFieldText(
  prompts: SummarySettings['prompts'],
  template: PromptTemplate,
  defaults: Partial<Record<PromptTemplate, string>>,
  emptied: boolean,
): string {
  const own = prompts[template];
  if (own !== undefined && own.trim()) return own;
  return emptied ? '' : (defaults[template] ?? '');
}

/**
 * The instructions after the field was edited to `text`: kept when they differ from the
 * default; removed (the default applies) when they are the default or empty.
 */
export function editPrompt(
  prompts: SummarySettings['prompts'],
  template: PromptTemplate,
  text: string,
  defaultText: string | undefined,
): { prompts: SummarySettings['prompts']; emptied: boolean } {
  const trimmed = text.trim();
  if (!trimmed || (defaultText !== undefined && trimmed === defaultText.trim())) {
    return { prompts: withoutPrompt(prompts, template), emptied: !trimmed };
  }
  return { prompts: { ...prompts, [template]: text }, emptied: false };
}

/** "Reset to default": the template's own instructions removed. */
export function withoutPrompt(prompts: SummarySettings['prompts'], template: PromptTemplate): SummarySettings['prompts'] {
  const { [template]: _gone, ...rest } = prompts;
  void _gone;
  return rest;
}

/**
 * The summary settings as saved: instructions trimmed (empty ones left out) in the core's
 * order of templates (so that saved settings compare equal), empty names as none.
 */
export function normalizeSummary(s: SummarySettings): SummarySettings {
  const given = (s.prompts ?? {}) as Record<string, string | undefined>;
  const order = [...SUMMARY_TEMPLATES, ...Object.keys(given).filter((k) => !(SUMMARY_TEMPLATES as readonly string[]).includes(k))];
  const prompts: Record<string, string> = {};
  for (const t of order) {
    const text = given[t]?.trim();
    if (text) prompts[t] = text;
  }
  const language = s.language?.trim() || null;
  const model = s.model?.trim() || null;
  return { ...s, prompts: prompts as SummarySettings['prompts'], language, model };
}

/** The summary models installed, in the catalogue's order (then those imported). */
export function installedSummaryModels(rows: readonly ModelRow[]): ModelRow[] {
  return rows.filter((m) => m.kind === 'summary' && m.present);
}

/** The choices of the local model field: the installed ones, and the one chosen when it is not (any more). */
export function summaryModelChoices(rows: readonly ModelRow[], chosen: string | null): { name: string; present: boolean }[] {
  const out = installedSummaryModels(rows).map((m) => ({ name: m.name, present: true }));
  if (chosen && !out.some((m) => m.name === chosen)) out.push({ name: chosen, present: false });
  return out;
}

/** The summary model the setting uses: the one named if installed; with none named, the first installed. */
export function summaryModelInUse(rows: readonly ModelRow[], chosen: string | null): string | null {
  const installed = installedSummaryModels(rows);
  if (chosen) return installed.some((m) => m.name === chosen) ? chosen : null;
  return installed[0]?.name ?? null;
}

/** An action item in a line: "task (owner: X, due: Y)", with only what was said. */
export function formatActionItem(tr: Translate, item: DocActionItem): string {
  const task = item.task.trim();
  const owner = item.owner?.trim();
  const due = item.due?.trim();
  if (owner && due) return tr('notes.actionOwnerDue', { task, owner, due });
  if (owner) return tr('notes.actionOwner', { task, owner });
  if (due) return tr('notes.actionDue', { task, due });
  return task;
}

/** Who wrote the notes, in a line. */
export function writtenBy(tr: Translate, summary: Pick<DocSummary, 'method' | 'model'>): string {
  const model = summary.model?.trim();
  switch (summary.method) {
    case 'local':
      return model ? tr('notes.byLocal', { model }) : tr('notes.byLocalUnnamed');
    case 'endpoint':
      return model ? tr('notes.byEndpoint', { model }) : tr('notes.byEndpointUnnamed');
    case 'built-in':
    case 'builtin':
    case 'extractive':
      return tr('notes.byBuiltin');
    default:
      return tr('notes.byOther', { method: summary.method });
  }
}

export const TEMPLATE_LABEL: Record<SummaryTemplateName, MessageKey> = {
  auto: 'settings.templateAuto',
  lecture: 'settings.templateLecture',
  meeting: 'settings.templateMeeting',
  abstract: 'settings.templateAbstract',
};

/** Whether a summary has anything to show besides who wrote it. */
export function hasNotes(summary: DocSummary | null | undefined): boolean {
  if (!summary) return false;
  const lists = [summary.points, summary.terms, summary.decisions, summary.action_items, summary.questions];
  return !!summary.overview?.trim() || lists.some((l) => (l?.length ?? 0) > 0);
}

/** The chapter playing at `ms` (the last started by then), -1 before the first. */
export function chapterAt(chapters: readonly DocChapter[] | null | undefined, ms: number): number {
  let at = -1;
  (chapters ?? []).forEach((c, i) => {
    if (c.start_ms <= ms) at = i;
  });
  return at;
}

/** The summary stage's progress message in words of the locale; others as they are. */
export function summaryStageMessage(tr: Translate, message: string): string {
  const text = message.trim();
  let m = /^chapter (\d+) of (\d+), part (\d+) of (\d+)$/i.exec(text);
  if (m) return tr('progress.chapterPart', { n: Number(m[1]), total: Number(m[2]), part: Number(m[3]), parts: Number(m[4]) });
  m = /^chapter (\d+) of (\d+)$/i.exec(text);
  if (m) return tr('progress.chapter', { n: Number(m[1]), total: Number(m[2]) });
  const fixed: Record<string, MessageKey> = {
    summarising: 'progress.summarising',
    'the whole': 'progress.whole',
    summarised: 'progress.summarised',
  };
  const key = fixed[text.toLowerCase()];
  return key ? tr(key) : message;
}

/** A stage's progress message as shown: the summary stage's in words of the locale. */
export function stageMessage(tr: Translate, kind: string, message: string): string {
  return kind === 'summary' ? summaryStageMessage(tr, message) : message;
}
