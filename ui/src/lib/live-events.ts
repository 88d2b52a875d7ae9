// Wires the shell's events into the stores.
import type { UnlistenFn } from '@tauri-apps/api/event';
import { toastError } from './toasts';
import { on } from './api';
import { workers } from './app-state';
import type { DetailLoader } from './detail-loader';
import { reportImport } from './importer';
import type { ItemList } from './item-list';
import { onModelProgress } from './models';
import type { Events } from './types';

type ItemsChanged = Events['items-changed'];

/** Holds 'items-changed' events until the initial list is loaded, then applies them in order. */
export class ChangeGate {
  private held: ItemsChanged[] | null = [];
  constructor(private readonly apply: (change: ItemsChanged) => void) {}

  push(change: ItemsChanged): void {
    if (this.held) this.held.push(change);
    else this.apply(change);
  }

  open(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const change of held) this.apply(change);
  }
}

export interface LiveEvents {
  /** Call after items.load(initial rows). */
  loaded(): void;
  stop: UnlistenFn;
}

export async function startLiveEvents(list: ItemList, detail: DetailLoader): Promise<LiveEvents> {
  const gate = new ChangeGate((change) => {
    list.apply(change);
    detail.changed([...change.items.map((r) => r.key), ...change.removed]);
  });
  const unlisten = await Promise.all([
    on('items-changed', (change) => gate.push(change)),
    on('queues-changed', (next) => workers.set(next)),
    on('model-progress', onModelProgress),
    on('items-imported', (report) => reportImport(report, true)),
    on('app-error', (error) => toastError(error)),
  ]);
  return { loaded: () => gate.open(), stop: () => unlisten.forEach((u) => u()) };
}
