// The library view's state: which document the editor shows, and where to start.
import { writable } from 'svelte/store';

export interface OpenAt {
  id: string;
  /** Seek here once the media is loaded (a search hit's time). */
  at_ms?: number;
  slide?: number | null;
}

/** The document open in the editor; null shows the library. */
export const opened = writable<OpenAt | null>(null);
