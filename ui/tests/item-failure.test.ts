import { describe, expect, it } from 'vitest';
import { entryNotRun, itemFailure, notRunText, stageNotRun } from '../src/lib/item-failure';
import { translate, type Translate } from '../src/lib/i18n';
import { progressTone, stageFraction } from '../src/lib/item-list';
import type { ItemRow, StageRow, State, TimelineEntry } from '../src/lib/types';
import { makeRow, makeStage } from './fixtures';

function stage(job: number, kind: string, state: State, over: Partial<StageRow> = {}): StageRow {
  return { ...makeStage(kind, state), job, ...over };
}

/** Issue 15: a broken file; the video stage failed and the four after it never ran. */
function brokenFile(): ItemRow {
  const upstream = 'upstream: job 7 (video) broken.mp4 is not a video or audio file';
  return makeRow(3, {
    state: 'failed',
    progress: 0.06,
    error: 'broken.mp4 is not a video or audio file',
    stages: [
      stage(7, 'video', 'failed', { error: 'broken.mp4 is not a video or audio file', progress: { fraction: 0.3, stage: 'probe', message: '' } }),
      ...(['audio', 'image', 'summary', 'export'] as const).map((kind, i) => stage(8 + i, kind, 'failed', { upstream: 7, error: i === 0 ? upstream : null })),
    ],
  });
}

function entry(job: number, kind: string, to: State, over: Partial<TimelineEntry> = {}): TimelineEntry {
  return { job, kind, at: job, from: null, to, note: '', error: null, upstream: null, ...over };
}

describe('itemFailure', () => {
  it('tells the root failure once and lists the stages that did not run', () => {
    const row = brokenFile();
    const timeline = [
      entry(7, 'video', 'failed', { error: 'broken.mp4 is not a video or audio file: ffprobe: Invalid data found when processing input' }),
      ...[8, 9, 10, 11].map((job) => entry(job, 'audio', 'failed', { upstream: 7, note: 'not run: job 7 (video) failed' })),
    ];
    const f = itemFailure(row, timeline);
    expect(f?.failures).toEqual([{ job: 7, kind: 'video', message: 'broken.mp4 is not a video or audio file' }]);
    expect(f?.notRun.map((s) => s.kind)).toEqual(['audio', 'image', 'summary', 'export']);
    expect(f?.technical).toEqual([{ job: 7, kind: 'video', text: 'broken.mp4 is not a video or audio file: ffprobe: Invalid data found when processing input' }]);
  });

  it('uses the item error when no stage has one (a lone task), and is null for a cancelled item', () => {
    expect(itemFailure(makeRow(1, { state: 'failed', error: 'the model is damaged' }))?.failures).toEqual([
      { job: null, kind: null, message: 'the model is damaged' },
    ]);
    const cancelled = makeRow(2, {
      state: 'cancelled',
      stages: [stage(1, 'video', 'cancelled'), stage(2, 'audio', 'failed', { upstream: 1 })],
    });
    expect(itemFailure(cancelled)).toBeNull();
    expect(itemFailure(makeRow(3, { state: 'succeeded' }))).toBeNull();
  });

  it('keeps the details free of what the message already says', () => {
    const row = makeRow(4, { state: 'failed', error: 'boom', stages: [stage(1, 'video', 'failed', { error: 'boom' })] });
    expect(itemFailure(row, [entry(1, 'video', 'failed', { error: 'boom' })])?.technical).toEqual([]);
  });
});

describe('not run', () => {
  it('names the stage that stopped a stage, failed or cancelled', () => {
    const row = brokenFile();
    expect(stageNotRun(row, row.stages[0])).toBeNull();
    expect(stageNotRun(row, row.stages[2])).toEqual({ key: 'detail.notRunBecause', stage: 'video' });
    const cancelled = makeRow(2, { stages: [stage(1, 'video', 'cancelled'), stage(2, 'audio', 'failed', { upstream: 1 })] });
    expect(stageNotRun(cancelled, cancelled.stages[1])).toEqual({ key: 'detail.notRunCancelled', stage: 'video' });
    const elsewhere = makeRow(3, { stages: [stage(2, 'audio', 'failed', { upstream: 99 })] });
    expect(stageNotRun(elsewhere, elsewhere.stages[0])).toEqual({ key: 'detail.notRunEarlier', stage: null });
  });

  it('reads as one short sentence in either language', () => {
    const tr = (locale: 'en' | 'zh-CN'): Translate => (key, params) => translate(locale, key, params);
    expect(notRunText(tr('en'), { key: 'detail.notRunBecause', stage: 'video' })).toBe('Not run because Video failed');
    expect(notRunText(tr('en'), { key: 'detail.notRunCancelled', stage: 'image' })).toBe('Not run because Slides was cancelled');
    expect(notRunText(tr('zh-CN'), { key: 'detail.notRunBecause', stage: 'video' })).toBe('因视频失败而未运行');
    expect(notRunText(tr('en'), { key: 'detail.notRunEarlier', stage: null })).toBe('Not run because an earlier step did not finish');
  });

  it('reads a timeline entry the same way', () => {
    const entries = [entry(7, 'video', 'running'), entry(7, 'video', 'failed'), entry(8, 'audio', 'failed', { upstream: 7 })];
    expect(entryNotRun(entries, entries[2])).toEqual({ key: 'detail.notRunBecause', stage: 'video' });
    expect(entryNotRun(entries, entries[1])).toBeNull();
  });
});

describe('progress bars', () => {
  it('show how far a stage got, full only when it succeeded, empty when it did not run', () => {
    const row = brokenFile();
    expect(row.stages.map(stageFraction)).toEqual([0.3, 0, 0, 0, 0]);
    expect(stageFraction(stage(1, 'audio', 'succeeded', { progress: { fraction: 0.2, stage: '', message: '' } }))).toBe(1);
    expect(stageFraction(stage(1, 'audio', 'running', { progress: { fraction: 1.7, stage: '', message: '' } }))).toBe(1);
  });

  it('look failed for a failed or dead item, never like a finished one', () => {
    expect(progressTone('failed')).toBe('failed');
    expect(progressTone('dead')).toBe('failed');
    expect(progressTone('cancelled')).toBe('cancelled');
    expect(progressTone('succeeded')).toBe('normal');
    expect(progressTone('running')).toBe('normal');
  });
});
