import { beforeEach, describe, expect, it } from 'vitest';
import { get } from 'svelte/store';
import { PLAIN_LENGTH, shortenUrls, splitMessage } from '../src/lib/command-error';
import { clearToasts, errorToast, toastError, toasts, toastText } from '../src/lib/toasts';
import { locale, t } from '../src/lib/i18n';

// The failed model download of issue 15: one line of raw text, a URL and a DNS error.
const DNS =
  "downloading https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-base.bin failed: Dns Failed: resolve dns name 'huggingface.co:443': failed to lookup address information: Temporary failure in name resolution (run the download again to resume)";

beforeEach(() => {
  clearToasts();
  locale.set('en');
});

describe('splitMessage', () => {
  it('keeps a short message whole', () => {
    expect(splitMessage('  The job store is read-only.  ')).toEqual({ headline: 'The job store is read-only.', full: null });
    expect(splitMessage('could not reach huggingface.co (no network?)')).toEqual({ headline: 'could not reach huggingface.co (no network?)', full: null });
    const exactly = 'x'.repeat(PLAIN_LENGTH);
    expect(splitMessage(exactly).full).toBeNull();
  });

  it('cuts a long message at its first clause, with the address shortened, and keeps it all for the details', () => {
    const { headline, full } = splitMessage(DNS);
    expect(headline).toBe('downloading huggingface.co/…/ggml-base.bin failed');
    expect(full).toBe(DNS);
  });

  it('cuts at the first sentence, not inside file names, addresses or drive letters', () => {
    const long = 'C:\\Videos\\talk.mp4 could not be read by ffprobe. ' + 'It said: '.padEnd(120, 'x');
    expect(splitMessage(long).headline).toBe('C:\\Videos\\talk.mp4 could not be read by ffprobe.');
    const zh = '无法下载模型文件，请检查网络连接后重试。' + '详细信息'.repeat(30);
    expect(splitMessage(zh).headline).toBe('无法下载模型文件，请检查网络连接后重试。');
  });

  it('does not leave a headline too short to mean anything', () => {
    const long = 'Error: the summary service at https://api.example.com/v1/chat answered 500: ' + 'y'.repeat(100);
    expect(splitMessage(long).headline).toBe('Error: the summary service at api.example.com/…/chat answered 500');
  });

  it('keeps a long message without a place to cut whole (the toast wraps it)', () => {
    const word = 'z'.repeat(300);
    expect(splitMessage(word)).toEqual({ headline: word, full: null });
  });
});

describe('shortenUrls', () => {
  it('keeps the host and the file', () => {
    expect(shortenUrls('see https://example.com/ and http://h.io/a and https://h.io/a/b/c.bin?x=1.')).toBe('see example.com and h.io/a and h.io/…/c.bin.');
  });
});

describe('error toasts', () => {
  it('show a plain headline; the whole message and the detail are behind "Details"', () => {
    const toast = errorToast({ code: 'failed', message: DNS, detail: 'ureq::Error: Dns Failed' });
    expect(toast.kind).toBe('error');
    expect(toastText(get(t), toast.title)).toBe('Something went wrong');
    expect(toast.message).toBe('downloading huggingface.co/…/ggml-base.bin failed');
    expect(toast.detail).toBe(`${DNS}\n\nureq::Error: Dns Failed`);
  });

  it('show a short message as it is, with no empty details', () => {
    expect(errorToast({ code: 'not_found', message: 'No item g7.', detail: null })).toEqual({
      kind: 'error',
      title: { key: 'error.notFound' },
      message: 'No item g7.',
      detail: null,
    });
  });

  it('take anything a command rejected with, and a title to translate when shown', () => {
    toastError('IPC failed', { key: 'settings.saveFailed' });
    const [toast] = get(toasts);
    expect(toast.message).toBe('IPC failed');
    locale.set('zh-CN');
    expect(toastText(get(t), toast.title)).toBe('无法保存设置。');
  });
});
