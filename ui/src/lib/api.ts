// Typed access to the shell: every command and event of the contract in types.ts.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { Commands, Events, SummaryTemplate } from './types';
import { toCommandError } from './command-error';

export type CommandName = keyof Commands;
export type ArgsOf<K extends CommandName> = Commands[K][0];
export type ResultOf<K extends CommandName> = Commands[K][1];

/** Calls a command; rejects with a CommandError (normalised by toCommandError). */
export async function call<K extends CommandName>(name: K, ...args: {} extends ArgsOf<K> ? [args?: ArgsOf<K>] : [args: ArgsOf<K>]): Promise<ResultOf<K>> {
  try {
    return await invoke<ResultOf<K>>(name, (args[0] ?? {}) as Record<string, unknown>);
  } catch (error) {
    throw toCommandError(error);
  }
}

/** Listens to one of the shell's events. */
export function on<E extends keyof Events>(name: E, handler: (payload: Events[E]) => void): Promise<UnlistenFn> {
  return listen<Events[E]>(name, (event) => handler(event.payload));
}

/** The summary templates (lecture, meeting, abstract) with their default instructions. */
export function summaryTemplates(): Promise<SummaryTemplate[]> {
  return call('summary_templates');
}
