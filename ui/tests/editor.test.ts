import { describe, expect, it } from 'vitest';
import { History, countMatches, markedParts, segmentsBySection, wordAt } from '../src/lib/editor';
import type { Doc } from '../src/lib/types';

const word = (start_ms: number, end_ms: number, text: string) => ({ start_ms, end_ms, text, p: 0.9 });

function doc(): Doc {
  return {
    schema: 1,
    title: 't',
    source: '/a.mp4',
    duration_ms: 20_000,
    language: 'en',
    created: '2026-12-01T00:00:00Z',
    model: null,
    summary: { points: [], method: 'built-in', note: null },
    sections: [
      { index: 1, start_ms: 0, end_ms: 5000, image: null, thumbnail: null, text: '' },
      { index: 2, start_ms: 5000, end_ms: 20_000, image: null, thumbnail: null, text: '' },
    ],
    segments: [
      { start_ms: 1000, end_ms: 3000, text: 'Hello Jon there.', words: [word(1000, 1500, ' Hello'), word(1500, 2000, ' Jon'), word(2000, 3000, ' there.')] },
      { start_ms: 6000, end_ms: 8000, text: 'Jonathan met jon.', words: [word(6000, 7000, ' Jonathan'), word(7000, 7500, ' met'), word(7500, 8000, ' jon.')] },
    ],
  };
}

describe('editor', () => {
  it('finds the word said at a time', () => {
    expect(wordAt(doc(), 500)).toBeNull();
    expect(wordAt(doc(), 1700)).toEqual({ segment: 0, word: 1 });
    expect(wordAt(doc(), 4000)).toEqual({ segment: 0, word: 2 });
    expect(wordAt(doc(), 7600)).toEqual({ segment: 1, word: 2 });
  });

  it('groups segments by the section shown', () => {
    expect(segmentsBySection(doc())).toEqual([[0], [1]]);
  });

  it('undoes and redoes whole states', () => {
    const h = new History();
    const a = doc();
    const b = structuredClone(a);
    b.title = 'b';
    h.push(a);
    expect(h.undo(b)?.title).toBe('t');
    expect(h.canRedo).toBe(true);
    expect(h.redo(a)?.title).toBe('b');
    expect(h.undo(b)?.title).toBe('t');
    h.push(a);
    expect(h.canRedo).toBe(false);
  });

  it('marks snippet parts by characters, Chinese included', () => {
    expect(markedParts('我们讨论机器学习。', [[4, 8]])).toEqual([
      { text: '我们讨论', marked: false },
      { text: '机器学习', marked: true },
      { text: '。', marked: false },
    ]);
  });

  it('counts matches as the replace does', () => {
    expect(countMatches(doc(), 'jon', false, true)).toBe(2);
    expect(countMatches(doc(), 'jon', false, false)).toBe(3);
    expect(countMatches(doc(), 'jon', true, true)).toBe(1);
  });
});
