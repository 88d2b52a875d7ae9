import { describe, expect, it } from 'vitest';
import { formatBytes, formatClock, formatDuration, formatEta, formatPercent, formatTime } from '../src/lib/format';

describe('durations and ETAs', () => {
  it('formats durations in English', () => {
    expect(formatDuration(0, 'en')).toBe('0s');
    expect(formatDuration(45_400, 'en')).toBe('45s');
    expect(formatDuration(200_000, 'en')).toBe('3m 20s');
    expect(formatDuration(3_900_000, 'en')).toBe('1h 5m');
    expect(formatDuration(2 * 86_400_000 + 3 * 3_600_000, 'en')).toBe('2d 3h');
  });

  it('formats durations in Chinese', () => {
    expect(formatDuration(45_000, 'zh-CN')).toBe('45秒');
    expect(formatDuration(200_000, 'zh-CN')).toBe('3分20秒');
    expect(formatDuration(3_900_000, 'zh-CN')).toBe('1小时5分');
  });

  it('formats ETAs, unknown ones included', () => {
    expect(formatEta(null, 'en')).toBe('—');
    expect(formatEta(-5, 'en')).toBe('—');
    expect(formatEta(400, 'en')).toBe('< 1s left');
    expect(formatEta(200_000, 'en')).toBe('3m 20s left');
    expect(formatEta(200_000, 'zh-CN')).toBe('剩余 3分20秒');
    expect(formatEta(500, 'zh-CN')).toBe('剩余不到 1 秒');
  });
});

describe('sizes, percentages, clocks and times', () => {
  it('formats bytes', () => {
    expect(formatBytes(512, 'en')).toBe('512 B');
    expect(formatBytes(1536, 'en')).toBe('1.5 KB');
    expect(formatBytes(147_951_465, 'en')).toBe('141 MB');
    expect(formatBytes(3_094_623_691, 'en')).toBe('2.9 GB');
    expect(formatBytes(1024 ** 2 * 12.25, 'zh-CN')).toBe('12.3 MB');
    expect(formatBytes(null, 'en')).toBe('—');
    expect(formatBytes(Number.NaN, 'en')).toBe('—');
  });

  it('formats percentages and clamps them', () => {
    expect(formatPercent(0.423, 'en')).toBe('42%');
    expect(formatPercent(1.5, 'en')).toBe('100%');
    expect(formatPercent(-1, 'zh-CN')).toBe('0%');
  });

  it('formats positions in a recording', () => {
    expect(formatClock(5_000)).toBe('0:05');
    expect(formatClock(754_000)).toBe('12:34');
    expect(formatClock(3_723_000)).toBe('1:02:03');
  });

  it('shows only the time for today and the date otherwise', () => {
    const now = new Date(2024, 4, 10, 15, 0, 0).getTime();
    const today = new Date(2024, 4, 10, 9, 5, 7).getTime();
    const earlier = new Date(2024, 0, 2, 9, 5).getTime();
    expect(formatTime(today, 'en', now)).toMatch(/09:05:07/);
    expect(formatTime(earlier, 'en', now)).toMatch(/2024/);
    expect(formatTime(earlier, 'zh-CN', now)).toMatch(/2024年1月2日/);
    expect(formatTime(null, 'en', now)).toBe('—');
  });
});
