import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { get } from 'svelte/store';
import { createDetailLoader, shouldPoll } from '../src/lib/detail-loader';
import { ChangeGate } from '../src/lib/live-events';
import type { ItemDetail, State } from '../src/lib/types';
import { makeRow } from './fixtures';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }));

function detail(key: string, state: State, lines = 0): ItemDetail {
  return {
    row: makeRow(Number(key.slice(1)), { key, state }),
    timeline: [],
    output_dir: null,
    outputs: [],
    transcript: Array.from({ length: lines }, (_, i) => ({ start_ms: i * 1000, end_ms: i * 1000 + 900, text: `line ${i}` })),
    slides: [],
    preview_html: null,
    speakers: [],
    document: null,
  };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('detail loader', () => {
  it('polls every second while the item runs, and stops when it is done', async () => {
    let calls = 0;
    const fetch = vi.fn(async (key: string) => {
      calls += 1;
      return detail(key, calls < 3 ? 'running' : 'succeeded', calls);
    });
    const loader = createDetailLoader({ fetch, intervalMs: 1000 });
    loader.select('g1');
    await vi.advanceTimersByTimeAsync(0);
    expect(get(loader.detail)?.transcript).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(get(loader.detail)?.transcript).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(get(loader.detail)?.row.state).toBe('succeeded');
    await vi.advanceTimersByTimeAsync(5000);
    expect(fetch).toHaveBeenCalledTimes(3);
    loader.destroy();
  });

  it('refreshes on a change of its key only', async () => {
    const fetch = vi.fn(async (key: string) => detail(key, 'succeeded'));
    const loader = createDetailLoader({ fetch });
    loader.select('g1');
    await vi.advanceTimersByTimeAsync(0);
    loader.changed(['g2', 'g3']);
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(1);
    loader.changed(['g2', 'g1']);
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('drops a late reply for an item that is no longer selected', async () => {
    let resolveFirst: (d: ItemDetail) => void = () => {};
    const fetch = vi.fn((key: string) =>
      key === 'g1' ? new Promise<ItemDetail>((r) => (resolveFirst = r)) : Promise.resolve(detail(key, 'failed')),
    );
    const loader = createDetailLoader({ fetch });
    loader.select('g1');
    loader.select('g2');
    resolveFirst(detail('g1', 'running'));
    await vi.advanceTimersByTimeAsync(0);
    expect(get(loader.detail)?.row.key).toBe('g2');
    expect(fetch).toHaveBeenLastCalledWith('g2');
  });

  it('keeps the error of a failed fetch', async () => {
    const loader = createDetailLoader({ fetch: () => Promise.reject({ code: 'not_found', message: 'Gone', detail: null }) });
    loader.select('g9');
    await vi.advanceTimersByTimeAsync(0);
    expect(get(loader.error)).toEqual({ code: 'not_found', message: 'Gone', detail: null });
    expect(get(loader.detail)).toBeNull();
  });

  it('polls only running items', () => {
    expect(shouldPoll(detail('g1', 'running'))).toBe(true);
    expect(shouldPoll(detail('g1', 'pending'))).toBe(false);
    expect(shouldPoll(null)).toBe(false);
  });
});

describe('ChangeGate', () => {
  it('holds events until the initial list is loaded, then applies them in order', () => {
    const applied: string[] = [];
    const gate = new ChangeGate((c) => applied.push(c.items.map((r) => r.key).join()));
    gate.push({ items: [makeRow(1)], removed: [] });
    gate.push({ items: [makeRow(2)], removed: [] });
    expect(applied).toEqual([]);
    gate.open();
    gate.push({ items: [makeRow(3)], removed: [] });
    expect(applied).toEqual(['g1', 'g2', 'g3']);
  });
});
