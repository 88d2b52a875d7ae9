import { beforeEach, describe, expect, it, vi } from 'vitest';
import { get } from 'svelte/store';

const invoke = vi.fn();
let emit: ((event: { payload: unknown }) => void) | null = null;
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...args: unknown[]) => invoke(...args), convertFileSrc: (p: string) => p }));
vi.mock('@tauri-apps/api/event', () => ({
  listen: vi.fn(async (_name: string, handler: (event: { payload: unknown }) => void) => {
    emit = handler;
    return () => (emit = null);
  }),
}));

import { connection, connectionNotice, followConnection, isUnavailable, queueUsable } from '../src/lib/connection';
import { clearToasts, errorToast, toasts, toastText } from '../src/lib/toasts';
import { locale, t, translate } from '../src/lib/i18n';
import type { QueueConnection } from '../src/lib/types';

const URL = 'redis://10.0.0.5:6379/0';
const down: QueueConnection = { state: 'unavailable', shared: URL, problem: 'the shared queue at … cannot be reached', cause: 'Connection refused (os error 111)', retrying: true };
const open: QueueConnection = { state: 'open', shared: URL, problem: null, cause: null, retrying: false };

function shown(c: QueueConnection | null, lang: 'en' | 'zh-CN' = 'en') {
  const n = connectionNotice(c);
  return n && { level: n.level, title: translate(lang, n.title.key, n.title.params), next: n.next && translate(lang, n.next), actions: n.actions };
}

beforeEach(() => {
  invoke.mockReset();
  connection.set(null);
  clearToasts();
  locale.set('en');
});

describe('the banner', () => {
  it('names the shared queue and the cause, and says it keeps trying', () => {
    expect(shown(down)).toEqual({
      level: 'problem',
      title: `The shared queue at ${URL} cannot be reached: Connection refused (os error 111)`,
      next: expect.stringContaining('keeps trying'),
      actions: true,
    });
    expect(shown(down, 'zh-CN')?.title).toBe(`无法连接共享队列 ${URL}：Connection refused (os error 111)`);
  });

  it('asks for the settings when waiting would not help', () => {
    const bad = shown({ ...down, retrying: false, cause: 'Redis URL did not parse' });
    expect(bad?.title).toBe(`The shared queue at ${URL} cannot be used: Redis URL did not parse`);
    expect(bad?.next).toMatch(/Settings/);
  });

  it('says nothing once open, nor while the local queue opens', () => {
    expect(shown(open)).toBeNull();
    expect(shown(null)).toBeNull();
    expect(shown({ ...open, state: 'opening', shared: null })).toBeNull();
    expect(shown({ ...open, state: 'opening' })).toMatchObject({ level: 'info', actions: false });
    expect(shown({ state: 'unavailable', shared: null, problem: 'x', cause: 'held by pid 7', retrying: true })?.title).toBe(
      'The job queue on this computer could not be opened: held by pid 7',
    );
  });
});

describe('following the connection', () => {
  it('loads the queue once it opens, and says so after a problem', async () => {
    invoke.mockResolvedValue(down);
    const opened = vi.fn();
    await followConnection(opened);
    expect(invoke).toHaveBeenCalledWith('queue_connection', {});
    expect(get(connection)).toEqual(down);
    expect(get(queueUsable)).toBe(false);
    expect(opened).not.toHaveBeenCalled();
    emit?.({ payload: open });
    emit?.({ payload: open });
    expect(opened).toHaveBeenCalledTimes(1);
    expect(get(queueUsable)).toBe(true);
    const toast = get(toasts)[0];
    expect(toastText(get(t), toast.title)).toBe(`Connected to the shared queue at ${URL}.`);
  });

  it('keeps an event heard before the answer, which is older', async () => {
    invoke.mockImplementation(async () => {
      emit?.({ payload: open });
      return down;
    });
    const opened = vi.fn();
    await followConnection(opened);
    expect(get(connection)?.state).toBe('open');
    expect(opened).toHaveBeenCalledTimes(1);
    expect(get(toasts)).toEqual([]);
  });
});

describe('a command refused while the queue is not open', () => {
  it('is recognised, and shown as a warning rather than a failure', () => {
    const e = { code: 'unavailable', message: 'the shared queue at … cannot be reached', detail: null } as const;
    expect(isUnavailable(e)).toBe(true);
    expect(isUnavailable({ code: 'failed', message: 'x', detail: null })).toBe(false);
    expect(isUnavailable('unavailable')).toBe(false);
    const toast = errorToast(e);
    expect(toast.kind).toBe('warning');
    expect(toastText(get(t), toast.title)).toBe('The job queue is not available');
  });
});
