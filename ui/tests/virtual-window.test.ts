import { describe, expect, it } from 'vitest';
import { computeWindow, nextIndex, rowsPerPage, scrollToReveal } from '../src/lib/virtual-window';

describe('computeWindow', () => {
  it('renders the visible rows plus overscan at the top', () => {
    const w = computeWindow({ scrollTop: 0, viewportHeight: 480, rowHeight: 48, count: 10_000, overscan: 3 });
    expect(w).toEqual({ start: 0, end: 13, offsetTop: 0, totalHeight: 480_000 });
  });

  it('follows the scroll offset in the middle', () => {
    // rows 100..109 are visible (4800 / 48 = 100); a partial row at the bottom counts.
    const w = computeWindow({ scrollTop: 4800 + 10, viewportHeight: 480, rowHeight: 48, count: 10_000, overscan: 2 });
    expect(w.start).toBe(98);
    expect(w.end).toBe(100 + 11 + 2);
    expect(w.offsetTop).toBe(98 * 48);
  });

  it('clamps at the end and never renders past the last row', () => {
    const w = computeWindow({ scrollTop: 1e9, viewportHeight: 480, rowHeight: 48, count: 10_000, overscan: 4 });
    expect(w.end).toBe(10_000);
    expect(w.start).toBe(10_000 - 10 - 4);
  });

  it('keeps the rendered count small for 10,000 rows', () => {
    for (const scrollTop of [0, 12_345, 240_000, 479_520]) {
      const w = computeWindow({ scrollTop, viewportHeight: 800, rowHeight: 48, count: 10_000, overscan: 6 });
      expect(w.end - w.start).toBeLessThanOrEqual(Math.ceil(800 / 48) + 1 + 12);
      expect(w.start).toBeGreaterThanOrEqual(0);
    }
  });

  it('handles an empty list and fewer rows than fit', () => {
    expect(computeWindow({ scrollTop: 0, viewportHeight: 480, rowHeight: 48, count: 0 })).toEqual({ start: 0, end: 0, offsetTop: 0, totalHeight: 0 });
    const w = computeWindow({ scrollTop: 50, viewportHeight: 480, rowHeight: 48, count: 3 });
    expect([w.start, w.end]).toEqual([0, 3]);
  });
});

describe('scrolling and keys', () => {
  it('reveals a row with the smallest scroll', () => {
    expect(scrollToReveal(5, 0, 480, 48)).toBe(0); // already visible
    expect(scrollToReveal(20, 0, 480, 48)).toBe(21 * 48 - 480); // below: bottom-align
    expect(scrollToReveal(2, 480, 480, 48)).toBe(96); // above: top-align
  });

  it('moves the selection with arrows, pages, Home and End', () => {
    expect(nextIndex(-1, 'ArrowDown', 10, 5)).toBe(0);
    expect(nextIndex(3, 'ArrowDown', 10, 5)).toBe(4);
    expect(nextIndex(9, 'ArrowDown', 10, 5)).toBe(9);
    expect(nextIndex(0, 'ArrowUp', 10, 5)).toBe(0);
    expect(nextIndex(2, 'PageDown', 10, 5)).toBe(7);
    expect(nextIndex(8, 'PageDown', 10, 5)).toBe(9);
    expect(nextIndex(3, 'PageUp', 10, 5)).toBe(0);
    expect(nextIndex(4, 'End', 10, 5)).toBe(9);
    expect(nextIndex(4, 'Home', 10, 5)).toBe(0);
    expect(nextIndex(4, 'Enter', 10, 5)).toBeNull();
    expect(nextIndex(0, 'ArrowDown', 0, 5)).toBeNull();
    expect(nextIndex(50, 'ArrowUp', 10, 5)).toBe(8); // a stale index after rows went away
    expect(rowsPerPage(480, 48)).toBe(9);
  });
});
