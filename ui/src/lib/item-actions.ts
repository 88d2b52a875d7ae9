// Cancel, retry and priority: the command's returned row is applied at once (the event follows).
import { call } from './api';
import { items } from './item-list';
import { toastError } from './toasts';
import type { CommandError, ItemRow, Priority } from './types';

async function run(action: () => Promise<ItemRow>): Promise<ItemRow | null> {
  try {
    const row = await action();
    items.upsert(row);
    return row;
  } catch (error) {
    toastError(error as CommandError);
    return null;
  }
}

export const cancelItem = (key: string) => run(() => call('cancel_item', { key }));
export const retryItem = (key: string) => run(() => call('retry_item', { key }));
export const setPriority = (key: string, priority: Priority) => run(() => call('set_priority', { key, priority }));
