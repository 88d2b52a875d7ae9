// What went wrong with an item, told once: the stage that failed and why, and the stages
// that did not run because of it (the core marks those with `upstream`, not an error).
import { queueLabel, type Translate } from './i18n';
import type { ItemRow, StageRow, State, TimelineEntry } from './types';

/** A stage's own failure (or the item's error when no stage has one, e.g. a lone task). */
export interface StageFailure {
  job: number | null;
  kind: string | null;
  message: string;
}

export interface ItemFailure {
  failures: StageFailure[];
  /** The stages that did not run because of a failure, in pipeline order. */
  notRun: StageRow[];
  /** The technical detail of each failure, from the timeline (when the detail is loaded). */
  technical: { job: number; kind: string; text: string }[];
}

/** Why a stage did not run: the stage whose failure (or cancellation) stopped it. */
export interface NotRun {
  key: 'detail.notRunBecause' | 'detail.notRunCancelled' | 'detail.notRunEarlier';
  /** The kind of the stage that stopped it; null when that job is not part of this item. */
  stage: string | null;
}

const FAILED: State[] = ['failed', 'dead'];

function notRunBy(root: { kind: string; state: State } | undefined): NotRun {
  if (!root) return { key: 'detail.notRunEarlier', stage: null };
  return { key: root.state === 'cancelled' ? 'detail.notRunCancelled' : 'detail.notRunBecause', stage: root.kind };
}

/** "Not run because Video failed", in the window's language. */
export function notRunText(tr: Translate, notRun: NotRun): string {
  return tr(notRun.key, { stage: notRun.stage ? queueLabel(tr, notRun.stage) : '' });
}

/** Why `stage` did not run, or null when it ran (or has yet to). */
export function stageNotRun(row: ItemRow, stage: StageRow): NotRun | null {
  if (stage.upstream === null || stage.upstream === undefined) return null;
  return notRunBy(row.stages.find((s) => s.job === stage.upstream));
}

/** Why the stage of a timeline entry did not run, or null for an ordinary entry. */
export function entryNotRun(entries: TimelineEntry[], entry: TimelineEntry): NotRun | null {
  if (entry.upstream === null || entry.upstream === undefined) return null;
  const root = entries.filter((e) => e.job === entry.upstream).at(-1);
  return notRunBy(root && { kind: root.kind, state: root.to });
}

/**
 * The item's failure as the detail pane tells it, or null when nothing went wrong (a
 * cancelled item has no error). Each stage's own failure appears once; a stage stopped by
 * it is listed as not run, never with a copy of the error.
 */
export function itemFailure(row: ItemRow, timeline: TimelineEntry[] | null = null): ItemFailure | null {
  const failures: StageFailure[] = row.stages
    .filter((s) => s.error && (s.upstream === null || s.upstream === undefined) && FAILED.includes(s.state))
    .map((s) => ({ job: s.job, kind: s.kind, message: s.error as string }));
  if (failures.length === 0 && row.error) failures.push({ job: null, kind: null, message: row.error });
  if (failures.length === 0) return null;
  const notRun = row.stages.filter((s) => s.upstream !== null && s.upstream !== undefined);
  const said = new Set(failures.map((f) => f.message));
  const technical = (timeline ?? [])
    .filter((e) => e.error && (e.upstream === null || e.upstream === undefined) && !said.has(e.error))
    .map((e) => ({ job: e.job, kind: e.kind, text: e.error as string }));
  return { failures, notRun, technical };
}
