// The editor's logic without the DOM: where a time falls in a document, the undo
// history, the marked parts of a search snippet, and counting matches for find.
import type { Doc } from './types';

/** The segment and word said at `ms` (the last one started by then), or null before the first. */
export function wordAt(doc: Doc, ms: number): { segment: number; word: number } | null {
  let found: { segment: number; word: number } | null = null;
  for (let s = 0; s < doc.segments.length; s++) {
    const seg = doc.segments[s];
    if (seg.start_ms > ms) break;
    const words = seg.words ?? [];
    let w = -1;
    for (let i = 0; i < words.length && words[i].start_ms <= ms; i++) w = i;
    found = { segment: s, word: Math.max(w, 0) };
  }
  return found;
}

/** The section (index into `doc.sections`) a segment belongs to: the last started by its middle. */
export function sectionOf(doc: Doc, segment: number): number {
  const seg = doc.segments[segment];
  if (!seg) return 0;
  const mid = (seg.start_ms + seg.end_ms) / 2;
  let at = 0;
  doc.sections.forEach((s, i) => {
    if (s.start_ms <= mid) at = i;
  });
  return at;
}

/** The segments of each section, by index into `doc.segments`. */
export function segmentsBySection(doc: Doc): number[][] {
  const out: number[][] = doc.sections.map(() => []);
  if (out.length === 0) out.push([]);
  doc.segments.forEach((_, i) => out[Math.min(sectionOf(doc, i), out.length - 1)].push(i));
  return out;
}

/** Undo and redo over whole states of the document. */
export class History {
  private past: Doc[] = [];
  private future: Doc[] = [];
  constructor(private readonly limit = 200) {}

  /** Records `before`, the state an edit is about to leave. */
  push(before: Doc): void {
    this.past.push(structuredClone(before));
    if (this.past.length > this.limit) this.past.shift();
    this.future = [];
  }
  /** The state to return to, given the current one; null when there is none. */
  undo(current: Doc): Doc | null {
    const prev = this.past.pop();
    if (!prev) return null;
    this.future.push(structuredClone(current));
    return prev;
  }
  redo(current: Doc): Doc | null {
    const next = this.future.pop();
    if (!next) return null;
    this.past.push(structuredClone(current));
    return next;
  }
  get canUndo(): boolean {
    return this.past.length > 0;
  }
  get canRedo(): boolean {
    return this.future.length > 0;
  }
}

/** A snippet cut into plain and marked parts by character ranges. */
export function markedParts(snippet: string, marks: [number, number][]): { text: string; marked: boolean }[] {
  const chars = Array.from(snippet);
  const out: { text: string; marked: boolean }[] = [];
  let at = 0;
  for (const [a, b] of [...marks].sort((x, y) => x[0] - y[0])) {
    if (a > at) out.push({ text: chars.slice(at, a).join(''), marked: false });
    if (b > Math.max(a, at)) out.push({ text: chars.slice(Math.max(a, at), b).join(''), marked: true });
    at = Math.max(at, b);
  }
  if (at < chars.length) out.push({ text: chars.slice(at).join(''), marked: false });
  return out;
}

function isWordChar(c: string | undefined): boolean {
  return !!c && /[\p{L}\p{N}]/u.test(c) && !/[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]/u.test(c);
}

/** How many times `find` occurs in the document's transcript (as the core's replace counts it there). */
export function countMatches(doc: Doc, find: string, matchCase: boolean, wholeWord: boolean): number {
  if (!find) return 0;
  const needle = matchCase ? find : find.toLowerCase();
  let n = 0;
  for (const seg of doc.segments) {
    const hay = matchCase ? seg.text : seg.text.toLowerCase();
    let from = 0;
    for (;;) {
      const i = hay.indexOf(needle, from);
      if (i < 0) break;
      const end = i + needle.length;
      if (!wholeWord || (!isWordChar(seg.text[i - 1]) && !isWordChar(seg.text[end]))) n++;
      from = end;
    }
  }
  return n;
}
