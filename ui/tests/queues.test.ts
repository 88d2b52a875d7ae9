import { describe, expect, it } from 'vitest';
import { comparePipeline, inPipelineOrder } from '../src/lib/queues';

describe('pipeline order', () => {
  it('lists the queues as a video goes through them, not alphabetically', () => {
    const alphabetical = ['audio', 'export', 'image', 'summary', 'video'];
    expect(inPipelineOrder(alphabetical, (q) => q)).toEqual(['video', 'audio', 'image', 'summary', 'export']);
  });

  it('puts unknown queues last, by name, and leaves the input alone', () => {
    const names = ['zeta', 'export', 'alpha', 'video'];
    expect([...names].sort(comparePipeline)).toEqual(['video', 'export', 'alpha', 'zeta']);
    expect(names).toEqual(['zeta', 'export', 'alpha', 'video']);
  });

  it('orders records by a field (the dashboard workers)', () => {
    const workers = [{ queue: 'summary' }, { queue: 'audio' }, { queue: 'video' }];
    expect(inPipelineOrder(workers, (w) => w.queue).map((w) => w.queue)).toEqual(['video', 'audio', 'summary']);
  });
});
