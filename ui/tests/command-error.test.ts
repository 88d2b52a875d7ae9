import { beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...args: unknown[]) => invoke(...args) }));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }));

import { errorTitleKey, toCommandError } from '../src/lib/command-error';
import { call } from '../src/lib/api';

describe('toCommandError', () => {
  it('keeps a CommandError as it is', () => {
    const e = { code: 'not_found', message: 'No item g7.', detail: 'store: no row' };
    expect(toCommandError(e)).toEqual(e);
  });

  it('fills a missing detail with null', () => {
    expect(toCommandError({ code: 'bad_request', message: 'Bad' })).toEqual({ code: 'bad_request', message: 'Bad', detail: null });
  });

  it('maps strings, JSON strings, Errors and unknown values to failed', () => {
    expect(toCommandError('command item_detail not found')).toEqual({ code: 'failed', message: 'command item_detail not found', detail: null });
    expect(toCommandError('{"code":"not_found","message":"Gone","detail":null}')).toEqual({ code: 'not_found', message: 'Gone', detail: null });
    const err = toCommandError(new Error('boom'));
    expect(err.code).toBe('failed');
    expect(err.message).toBe('boom');
    expect(toCommandError({ code: 'weird', message: 'x' })).toMatchObject({ code: 'failed', message: 'x' });
    expect(toCommandError(undefined)).toEqual({ code: 'failed', message: 'Unknown error', detail: null });
    expect(toCommandError(42)).toEqual({ code: 'failed', message: 'Unknown error', detail: '42' });
  });

  it('picks a headline per code', () => {
    expect(errorTitleKey({ code: 'bad_request', message: '', detail: null })).toBe('error.badRequest');
    expect(errorTitleKey({ code: 'not_found', message: '', detail: null })).toBe('error.notFound');
    expect(errorTitleKey({ code: 'failed', message: '', detail: null })).toBe('error.failed');
  });
});

describe('call', () => {
  beforeEach(() => {
    invoke.mockReset();
  });

  it('passes camelCase arguments and returns the result', async () => {
    invoke.mockResolvedValue({ key: 'g1' });
    await expect(call('cancel_item', { key: 'g1' })).resolves.toEqual({ key: 'g1' });
    expect(invoke).toHaveBeenCalledWith('cancel_item', { key: 'g1' });
  });

  it('sends {} for commands without arguments', async () => {
    invoke.mockResolvedValue(3);
    await call('clear_finished');
    expect(invoke).toHaveBeenCalledWith('clear_finished', {});
  });

  it('rejects with a CommandError', async () => {
    invoke.mockImplementation(async () => {
      throw 'IPC failed';
    });
    const caught = await call('dashboard').then(
      () => null,
      (e: unknown) => e,
    );
    expect(caught).toStrictEqual({ code: 'failed', message: 'IPC failed', detail: null });
  });
});
