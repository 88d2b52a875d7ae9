import { describe, expect, it } from 'vitest';
import { throughputBars } from '../src/lib/throughput-chart';

describe('throughputBars', () => {
  it('scales bars to the largest bucket, oldest on the left', () => {
    const c = throughputBars([0, 2, 4, 1], 400, 100, 0);
    expect(c.max).toBe(4);
    expect(c.total).toBe(7);
    expect(c.bars.map((b) => b.height)).toEqual([0, 50, 100, 25]);
    expect(c.bars.map((b) => b.x)).toEqual([0, 100, 200, 300]);
    expect(c.bars[2].y).toBe(0);
    expect(c.bars.map((b) => b.minutesAgo)).toEqual([3, 2, 1, 0]);
  });

  it('keeps tiny non-zero buckets visible and ignores bad values', () => {
    const c = throughputBars([1000, 1, Number.NaN, -3], 40, 100, 1);
    expect(c.bars[1].height).toBe(1);
    expect(c.bars[2].height).toBe(0);
    expect(c.bars[3].value).toBe(0);
  });

  it('handles an empty or all-zero series', () => {
    expect(throughputBars([], 100, 50).bars).toEqual([]);
    expect(throughputBars(new Array(60).fill(0), 600, 50).bars.every((b) => b.height === 0)).toBe(true);
  });
});
