// Open a file with its default app, or show it in the file manager.
import { convertFileSrc } from '@tauri-apps/api/core';
import { call } from './api';
import { toastError } from './toasts';
import type { CommandError } from './types';

export async function openPath(path: string): Promise<void> {
  try {
    await call('open_path', { path });
  } catch (error) {
    toastError(error as CommandError);
  }
}

export async function revealPath(path: string): Promise<void> {
  try {
    await call('reveal_path', { path });
  } catch (error) {
    toastError(error as CommandError);
  }
}

/** A local file as a URL the webview may load (the asset protocol). */
export function fileUrl(path: string): string {
  return convertFileSrc(path);
}
