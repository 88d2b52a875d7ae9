// Watched folders: the Rust enums (externally tagged) as simple choices for the form.
import type { WatchSetting } from './types';

export type AfterKind = 'keep' | 'move' | 'delete';
export type OutputKind = 'beside' | 'folder';

export function afterKind(w: WatchSetting): AfterKind {
  return typeof w.after_success === 'object' && w.after_success !== null ? 'move' : w.after_success;
}

export function moveTo(w: WatchSetting): string {
  return typeof w.after_success === 'object' && w.after_success !== null ? w.after_success.move_to : '';
}

export function withAfter(w: WatchSetting, kind: AfterKind, folder = moveTo(w)): WatchSetting {
  return { ...w, after_success: kind === 'move' ? { move_to: folder } : kind };
}

export function outputKind(w: WatchSetting): OutputKind {
  return typeof w.output === 'object' && w.output !== null ? 'folder' : 'beside';
}

export function outputFolder(w: WatchSetting): string {
  return typeof w.output === 'object' && w.output !== null ? w.output.folder : '';
}

export function withOutput(w: WatchSetting, kind: OutputKind, folder = outputFolder(w)): WatchSetting {
  return { ...w, output: kind === 'folder' ? { folder } : 'beside_source' };
}

export function newWatch(path: string, outputDir: string | null): WatchSetting {
  return {
    path,
    recursive: true,
    extensions: [],
    output: outputDir ? { folder: outputDir } : 'beside_source',
    formats: null,
    model: null,
    language: null,
    priority: 'normal',
    after_success: 'keep',
  };
}
