// Files dropped on the window go through importPaths, like "Add files…".
import { getCurrentWebview } from '@tauri-apps/api/webview';
import type { UnlistenFn } from '@tauri-apps/api/event';
import { importPaths } from './importer';

export type DropPayload =
  | { type: 'enter'; paths: string[] }
  | { type: 'over' }
  | { type: 'drop'; paths: string[] }
  | { type: 'leave' };

/** Handles one drag-and-drop event; `setOver` shows or hides the drop overlay. */
export function handleDragDrop(payload: DropPayload, setOver: (over: boolean) => void): Promise<unknown> | null {
  switch (payload.type) {
    case 'enter':
    case 'over':
      setOver(true);
      return null;
    case 'leave':
      setOver(false);
      return null;
    case 'drop':
      setOver(false);
      return importPaths(payload.paths);
    default:
      return null;
  }
}

export function listenDragDrop(setOver: (over: boolean) => void): Promise<UnlistenFn> {
  return getCurrentWebview().onDragDropEvent((event) => {
    void handleDragDrop(event.payload as DropPayload, setOver);
  });
}
