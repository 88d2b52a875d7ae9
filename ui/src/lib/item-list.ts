// The queue's rows, kept by key: loaded once, then changed incrementally by 'items-changed'.
import { writable, type Readable } from 'svelte/store';
import type { ItemRow, Priority, StageRow, State } from './types';

export type StateFilter = 'all' | State;
export type QueueFilter = 'all' | string;
export type SortOrder = 'queue' | 'newest' | 'oldest' | 'title' | 'progress';

export interface ListFilter {
  state: StateFilter;
  queue: QueueFilter;
  text: string;
}

export const ALL_STATES: State[] = ['running', 'pending', 'blocked', 'failed', 'dead', 'cancelled', 'succeeded'];
export const PRIORITIES: Priority[] = ['critical', 'high', 'normal', 'low'];

const STATE_RANK: Record<State, number> = {
  running: 0,
  pending: 1,
  blocked: 2,
  failed: 3,
  dead: 4,
  cancelled: 5,
  succeeded: 6,
};
const PRIORITY_RANK: Record<Priority, number> = { critical: 0, high: 1, normal: 2, low: 3 };

export function isFinished(state: State): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled' || state === 'dead';
}
export function canCancel(state: State): boolean {
  return state === 'running' || state === 'pending' || state === 'blocked';
}
export function canRetry(state: State): boolean {
  return state === 'failed' || state === 'cancelled' || state === 'dead';
}

export function compareRows(order: SortOrder): (a: ItemRow, b: ItemRow) => number {
  const byKey = (a: ItemRow, b: ItemRow) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  switch (order) {
    case 'newest':
      return (a, b) => b.created_at - a.created_at || byKey(a, b);
    case 'oldest':
      return (a, b) => a.created_at - b.created_at || byKey(a, b);
    case 'title':
      return (a, b) => a.title.localeCompare(b.title) || byKey(a, b);
    case 'progress':
      return (a, b) => b.progress - a.progress || byKey(a, b);
    case 'queue':
    default:
      return (a, b) =>
        STATE_RANK[a.state] - STATE_RANK[b.state] ||
        PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] ||
        a.created_at - b.created_at ||
        byKey(a, b);
  }
}

export function matches(row: ItemRow, filter: ListFilter): boolean {
  if (filter.state !== 'all' && row.state !== filter.state) return false;
  if (filter.queue !== 'all' && row.queue !== filter.queue) return false;
  if (filter.text) {
    const needle = filter.text.trim().toLowerCase();
    if (needle && !row.title.toLowerCase().includes(needle) && !(row.input ?? '').toLowerCase().includes(needle)) return false;
  }
  return true;
}

export interface ListView {
  rows: ItemRow[];
  total: number;
  /** Counts by state over every row (for the filter chips), ignoring the state filter. */
  byState: Record<StateFilter, number>;
}

/** Rows by key. Changes bump `version`, a store the components subscribe to. */
export class ItemList {
  private rows = new Map<string, ItemRow>();
  private readonly versionStore = writable(0);
  private versionNumber = 0;
  private cache: { version: number; filterKey: string; view: ListView } | null = null;

  readonly version: Readable<number> = { subscribe: this.versionStore.subscribe };

  get size(): number {
    return this.rows.size;
  }

  get(key: string): ItemRow | undefined {
    return this.rows.get(key);
  }

  /** Replaces everything (the initial list_items). */
  load(rows: ItemRow[]): void {
    this.rows = new Map(rows.map((r) => [r.key, r]));
    this.bump();
  }

  /** Applies one 'items-changed' event (or a single command result): upsert, then remove. */
  apply(change: { items?: ItemRow[]; removed?: string[] }): void {
    let changed = false;
    for (const row of change.items ?? []) {
      this.rows.set(row.key, row);
      changed = true;
    }
    for (const key of change.removed ?? []) {
      if (this.rows.delete(key)) changed = true;
    }
    if (changed) this.bump();
  }

  upsert(row: ItemRow): void {
    this.apply({ items: [row] });
  }

  remove(keys: string[]): void {
    this.apply({ removed: keys });
  }

  /** Removes finished rows locally (after clear_finished, before the event arrives). */
  removeFinished(): string[] {
    const keys = [...this.rows.values()].filter((r) => isFinished(r.state)).map((r) => r.key);
    this.remove(keys);
    return keys;
  }

  /** Filtered and sorted rows; memoised until the next change or a different filter. */
  view(filter: ListFilter, order: SortOrder): ListView {
    const filterKey = `${filter.state}\u0000${filter.queue}\u0000${filter.text.trim().toLowerCase()}\u0000${order}`;
    if (this.cache && this.cache.version === this.versionNumber && this.cache.filterKey === filterKey) {
      return this.cache.view;
    }
    const byState = { all: 0 } as Record<StateFilter, number>;
    for (const s of ALL_STATES) byState[s] = 0;
    const rows: ItemRow[] = [];
    const notByState: ListFilter = { ...filter, state: 'all' };
    for (const row of this.rows.values()) {
      if (!matches(row, notByState)) continue;
      byState.all += 1;
      byState[row.state] += 1;
      if (filter.state === 'all' || row.state === filter.state) rows.push(row);
    }
    rows.sort(compareRows(order));
    const view: ListView = { rows, total: this.rows.size, byState };
    this.cache = { version: this.versionNumber, filterKey, view };
    return view;
  }

  private bump(): void {
    this.versionNumber += 1;
    this.versionStore.set(this.versionNumber);
  }
}

/** The app's one list. */
export const items = new ItemList();

/** The stage of a row that runs on `queue` (the latest one when a stage was retried). */
export function stageFor(row: ItemRow, queue: string): StageRow | null {
  let found: StageRow | null = null;
  for (const s of row.stages) if (s.kind === queue || s.queue === queue) found = s;
  return found;
}

/** A stage's bar: full once done, the progress reached otherwise, empty when it did not run. */
export function stageFraction(stage: StageRow): number {
  if (stage.state === 'succeeded') return 1;
  if (stage.upstream !== null && stage.upstream !== undefined) return 0;
  return Math.min(1, Math.max(0, stage.progress.fraction));
}

/** How a progress bar of an item or stage in `state` looks: a failed one is never a plain full bar. */
export type ProgressTone = 'normal' | 'failed' | 'cancelled';

export function progressTone(state: State): ProgressTone {
  switch (state) {
    case 'failed':
    case 'dead':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'normal';
  }
}
