// Items held for something the app does not have yet: a video added before a speech model
// was installed waits for one (its transcription held, its other steps done) and goes on by
// itself once a model is there. Shown as waiting, never as failed or as a stuck progress bar.
import type { Translate } from './i18n';
import type { ItemRow, StageRow } from './types';

/** What the core holds a transcription for until a model is installed (its `workflow::MODEL_HOLD`). */
export const MODEL_HOLD = 'a speech model';

/** "Waiting for a speech model" in the window's language; null when it waits for nothing. */
export function waitingText(tr: Translate, what: string | null | undefined): string | null {
  if (!what) return null;
  return what === MODEL_HOLD ? tr('list.waitingModel') : tr('list.waitingFor', { what });
}

/** The state column of a row: "Waiting" while it waits for a model, else its state. */
export function rowStateLabel(tr: Translate, row: Pick<ItemRow, 'state' | 'waiting_for'>): string {
  return row.waiting_for ? tr('list.waiting') : tr(`state.${row.state}`);
}

/** A stage chip's label while the stage waits; null when it does not. */
export function stageWaitingLabel(tr: Translate, stageName: string, stage: Pick<StageRow, 'waiting_for'> | null): string | null {
  const waiting = waitingText(tr, stage?.waiting_for);
  return waiting ? tr('list.stageChipWaiting', { stage: stageName, waiting }) : null;
}

/** How many rows wait for a speech model. */
export function countWaitingForModel(rows: Iterable<Pick<ItemRow, 'waiting_for'>>): number {
  let n = 0;
  for (const r of rows) if (r.waiting_for === MODEL_HOLD) n += 1;
  return n;
}
