// Starts the app: app info, settings, live events, the queue's connection, the initial list
// (once the queue is open), drag and drop.
import { call } from './api';
import { followConnection, isUnavailable } from './connection';
import { loadAppInfo, loadSettings, workers } from './app-state';
import { listenDragDrop } from './drag-drop';
import { firstRun } from './first-run';
import { items } from './item-list';
import { startLiveEvents } from './live-events';
import { selectedDetail } from './selected-detail';
import { toastError } from './toasts';
import type { CommandError } from './types';

export const INITIAL_LIMIT = 10000;

export function shellAvailable(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

export async function startApp(setDragOver: (over: boolean) => void): Promise<() => void> {
  const stops: (() => void)[] = [];
  // The banner tells why the queue is not open: loads that need it do not repeat it.
  const report = (e: unknown) => {
    if (!isUnavailable(e)) toastError(e as CommandError);
  };

  await Promise.all([loadAppInfo().catch(report), loadSettings().catch(report)]);

  const live = await startLiveEvents(items, selectedDetail);
  stops.push(live.stop);
  const loadQueue = async () => {
    try {
      items.load(await call('list_items', { limit: INITIAL_LIMIT }));
    } catch (e) {
      report(e);
    }
    live.loaded();

    call('dashboard')
      .then((d) => {
        workers.set(d.workers);
        // With no speech model, the queue view guides the first run.
        firstRun.setModelPresent(d.health.model_present);
      })
      .catch(report);
  };
  try {
    stops.push(await followConnection(() => void loadQueue()));
  } catch (e) {
    // A shell that does not tell (an older one): its queue is open.
    report(e);
    void loadQueue();
  }

  try {
    stops.push(await listenDragDrop(setDragOver));
  } catch (e) {
    report(e);
  }
  return () => {
    stops.forEach((stop) => stop());
    selectedDetail.destroy();
  };
}
