// Bar geometry for the dashboard's throughput chart (hand-drawn SVG).

export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
  value: number;
  /** Minutes ago (0 = the current minute). */
  minutesAgo: number;
}

export interface Chart {
  bars: Bar[];
  max: number;
  total: number;
}

/** One bar per bucket, oldest on the left; heights scaled to the largest bucket. */
export function throughputBars(values: number[], width: number, height: number, gap = 1): Chart {
  const n = values.length;
  const clean = values.map((v) => (Number.isFinite(v) && v > 0 ? v : 0));
  const max = clean.reduce((a, b) => Math.max(a, b), 0);
  const total = clean.reduce((a, b) => a + b, 0);
  if (n === 0) return { bars: [], max, total };
  const slot = width / n;
  const barWidth = Math.max(0.5, slot - gap);
  const bars = clean.map((value, i) => {
    const h = max > 0 ? (value / max) * height : 0;
    const shown = value > 0 ? Math.max(h, 1) : 0; // a non-zero bucket is always visible
    return { x: i * slot, y: height - shown, width: barWidth, height: shown, value, minutesAgo: n - 1 - i };
  });
  return { bars, max, total };
}
