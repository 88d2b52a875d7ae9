// The queues in the order a video goes through them, wherever queues are listed.
import { QUEUES } from './types';

function rank(name: string): number {
  const i = (QUEUES as readonly string[]).indexOf(name);
  return i < 0 ? QUEUES.length : i;
}

/** Compares queue (or stage kind) names: video, audio, image, summary, export, then others by name. */
export function comparePipeline(a: string, b: string): number {
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** A copy of `list` in pipeline order of `name(entry)`. */
export function inPipelineOrder<T>(list: readonly T[], name: (entry: T) => string): T[] {
  return [...list].sort((a, b) => comparePipeline(name(a), name(b)));
}
