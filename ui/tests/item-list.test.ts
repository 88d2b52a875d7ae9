import { describe, expect, it } from 'vitest';
import { get } from 'svelte/store';
import { canCancel, canRetry, compareRows, ItemList, matches, stageFor, type ListFilter } from '../src/lib/item-list';
import { makeRow, makeStage } from './fixtures';

const ALL: ListFilter = { state: 'all', queue: 'all', text: '' };

describe('ItemList', () => {
  it('loads, upserts by key and removes', () => {
    const list = new ItemList();
    list.load([makeRow(1), makeRow(2), makeRow(3)]);
    expect(list.size).toBe(3);

    list.apply({ items: [makeRow(2, { state: 'running', progress: 0.5 }), makeRow(4)], removed: ['g1'] });
    expect(list.size).toBe(3);
    expect(list.get('g1')).toBeUndefined();
    expect(list.get('g2')?.state).toBe('running');
    expect(list.get('g2')?.progress).toBe(0.5);
    expect(list.get('g4')).toBeDefined();
  });

  it('bumps the version only when something changed', () => {
    const list = new ItemList();
    list.load([makeRow(1)]);
    const v = get(list.version);
    list.apply({ items: [], removed: ['nope'] });
    expect(get(list.version)).toBe(v);
    list.apply({ items: [], removed: ['g1'] });
    expect(get(list.version)).toBe(v + 1);
  });

  it('filters by state, queue and text, and counts by state ignoring the state filter', () => {
    const list = new ItemList();
    list.load([
      makeRow(1, { state: 'running', queue: 'audio', title: 'Lecture one.mp4' }),
      makeRow(2, { state: 'running', queue: 'video', title: 'Meeting.mkv' }),
      makeRow(3, { state: 'failed', queue: 'audio', title: 'lecture two.mp4' }),
      makeRow(4, { state: 'succeeded', queue: 'export', title: 'Talk.mp4' }),
    ]);
    const running = list.view({ ...ALL, state: 'running' }, 'queue');
    expect(running.rows.map((r) => r.key)).toEqual(['g1', 'g2']);
    expect(running.byState.all).toBe(4);
    expect(running.byState.failed).toBe(1);

    const audio = list.view({ ...ALL, queue: 'audio' }, 'oldest');
    expect(audio.rows.map((r) => r.key)).toEqual(['g1', 'g3']);
    expect(audio.byState.all).toBe(2);

    const text = list.view({ ...ALL, text: '  LECTURE ' }, 'oldest');
    expect(text.rows.map((r) => r.key)).toEqual(['g1', 'g3']);
    expect(list.view({ ...ALL, text: 'nothing' }, 'queue').rows).toHaveLength(0);
  });

  it('sorts in queue order: running, then pending by priority, then by age', () => {
    const rows = [
      makeRow(1, { state: 'succeeded' }),
      makeRow(2, { state: 'pending', priority: 'low' }),
      makeRow(3, { state: 'pending', priority: 'critical' }),
      makeRow(4, { state: 'running' }),
      makeRow(5, { state: 'pending', priority: 'critical' }),
      makeRow(6, { state: 'failed' }),
    ];
    expect([...rows].sort(compareRows('queue')).map((r) => r.key)).toEqual(['g4', 'g3', 'g5', 'g2', 'g6', 'g1']);
    expect([...rows].sort(compareRows('newest')).map((r) => r.key)).toEqual(['g6', 'g5', 'g4', 'g3', 'g2', 'g1']);
    const byProgress = [makeRow(1, { progress: 0.2 }), makeRow(2, { progress: 0.9 }), makeRow(3, { progress: 0.5 })];
    expect(byProgress.sort(compareRows('progress')).map((r) => r.key)).toEqual(['g2', 'g3', 'g1']);
  });

  it('memoises the view until a change and recomputes after one', () => {
    const list = new ItemList();
    list.load([makeRow(1), makeRow(2)]);
    const a = list.view(ALL, 'queue');
    expect(list.view(ALL, 'queue')).toBe(a);
    list.upsert(makeRow(3));
    const b = list.view(ALL, 'queue');
    expect(b).not.toBe(a);
    expect(b.rows).toHaveLength(3);
  });

  it('removes finished rows locally', () => {
    const list = new ItemList();
    list.load([makeRow(1, { state: 'succeeded' }), makeRow(2, { state: 'running' }), makeRow(3, { state: 'dead' })]);
    expect(list.removeFinished().sort()).toEqual(['g1', 'g3']);
    expect(list.size).toBe(1);
  });

  it('handles 10,000 rows and a stream of events quickly', () => {
    const list = new ItemList();
    const rows = Array.from({ length: 10_000 }, (_, i) =>
      makeRow(i, { state: i % 7 === 0 ? 'running' : i % 3 === 0 ? 'succeeded' : 'pending', priority: i % 5 === 0 ? 'high' : 'normal' }),
    );
    const start = performance.now();
    list.load(rows);
    expect(list.view(ALL, 'queue').rows).toHaveLength(10_000);
    // 40 events (10 s of updates at 4 per second), each touching 50 rows, each followed by a re-render's view.
    for (let e = 0; e < 40; e += 1) {
      const changed = Array.from({ length: 50 }, (_, j) => makeRow((e * 50 + j) % 10_000, { state: 'running', progress: e / 40 }));
      list.apply({ items: changed, removed: e === 39 ? ['g9999'] : [] });
      list.view(ALL, 'queue');
    }
    const elapsed = performance.now() - start;
    const view = list.view({ ...ALL, state: 'running' }, 'queue');
    expect(list.size).toBe(9_999);
    expect(view.rows.every((r) => r.state === 'running')).toBe(true);
    expect(view.rows[0].priority).toBe('high'); // running rows sorted by priority first
    expect(elapsed).toBeLessThan(2000);
  });
});

describe('row helpers', () => {
  it('finds the latest stage of a queue', () => {
    const first = makeStage('audio', 'failed');
    const retry = makeStage('audio', 'running', 0.4);
    const row = makeRow(1, { stages: [makeStage('video', 'succeeded', 1), first, retry] });
    expect(stageFor(row, 'audio')).toBe(retry);
    expect(stageFor(row, 'export')).toBeNull();
  });

  it('knows which states can be cancelled or retried', () => {
    expect(canCancel('running')).toBe(true);
    expect(canCancel('blocked')).toBe(true);
    expect(canCancel('succeeded')).toBe(false);
    expect(canRetry('failed')).toBe(true);
    expect(canRetry('dead')).toBe(true);
    expect(canRetry('running')).toBe(false);
  });

  it('matches the input path as well as the title', () => {
    expect(matches(makeRow(1, { input: '/data/Biology/cell.mp4' }), { ...ALL, text: 'biology' })).toBe(true);
  });
});
