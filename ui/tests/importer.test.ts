import { beforeEach, describe, expect, it, vi } from 'vitest';
import { get } from 'svelte/store';

const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...args: unknown[]) => invoke(...args), convertFileSrc: (p: string) => p }));
vi.mock('@tauri-apps/api/event', () => ({ listen: vi.fn() }));
vi.mock('@tauri-apps/api/webview', () => ({ getCurrentWebview: vi.fn() }));

import { addFiles, addFolder, importPaths, reportImport } from '../src/lib/importer';
import { handleDragDrop } from '../src/lib/drag-drop';
import { clearToasts, toasts, toastText } from '../src/lib/toasts';
import { locale, t } from '../src/lib/i18n';

const shownText = (text: Parameters<typeof toastText>[1]) => toastText(get(t), text);

beforeEach(() => {
  invoke.mockReset();
  clearToasts();
  locale.set('en');
});

describe('importPaths', () => {
  it('sends the paths and lists every rejected file with its reason', async () => {
    invoke.mockResolvedValue({
      accepted: [{ path: '/v/a.mp4', key: 'g1' }],
      rejected: [
        { path: '/v/notes.txt', reason: 'not a video or audio file' },
        { path: 'C:\\v\\empty.mp4', reason: 'the file is empty' },
      ],
    });
    const report = await importPaths(['/v']);
    expect(invoke).toHaveBeenCalledWith('import_paths', { paths: ['/v'] });
    expect(report?.accepted).toHaveLength(1);
    const shown = get(toasts);
    expect(shown.map((t) => t.kind)).toEqual(['success', 'warning']);
    expect(shownText(shown[0].title)).toBe('Added 1 file to the queue.');
    expect(shownText(shown[1].title)).toBe('2 files were not added');
    expect(shown[1].lines).toEqual([
      { label: 'notes.txt', text: 'not a video or audio file', hint: '/v/notes.txt' },
      { label: 'empty.mp4', text: 'the file is empty', hint: 'C:\\v\\empty.mp4' },
    ]);
  });

  it('says so when nothing was accepted', async () => {
    invoke.mockResolvedValue({ accepted: [], rejected: [] });
    await importPaths(['/empty']);
    expect(shownText(get(toasts)[0].title)).toBe('Nothing to add: no supported files found.');
  });

  it('shows a failed import as an error with its detail', async () => {
    invoke.mockImplementation(() => Promise.reject({ code: 'failed', message: 'The job store is read-only.', detail: 'EROFS' }));
    expect(await importPaths(['/v/a.mp4'])).toBeNull();
    expect(get(toasts)[0]).toMatchObject({ kind: 'error', message: 'The job store is read-only.', detail: 'EROFS' });
  });

  it('does nothing for no paths', async () => {
    expect(await importPaths([])).toBeNull();
    expect(invoke).not.toHaveBeenCalled();
  });

  it('reports imports from elsewhere without a "nothing" warning', () => {
    reportImport({ accepted: [], rejected: [] }, true);
    expect(get(toasts)).toHaveLength(0);
    reportImport({ accepted: [{ path: '/w/a.mp4', key: 'g2' }], rejected: [] }, true);
    expect(shownText(get(toasts)[0].title)).toBe('Added 1 file from a watched folder or another launch.');
  });

  it('shows a toast in the language of the window, also after a switch', () => {
    locale.set('zh-CN');
    reportImport({ accepted: [{ path: '/w/a.mp4', key: 'g2' }, { path: '/w/b.mp4', key: 'g3' }], rejected: [] }, true);
    const [toast] = get(toasts);
    expect(shownText(toast.title)).toBe('已从监视文件夹或其他启动添加 2 个文件。');
    locale.set('en');
    expect(shownText(toast.title)).toBe('Added 2 files from a watched folder or another launch.');
  });
});

describe('pickers', () => {
  it('imports what "Add files…" picked, and nothing when dismissed', async () => {
    invoke.mockImplementation(async (cmd: string) =>
      cmd === 'pick_files' ? ['/v/a.mp4', '/v/b.mkv'] : { accepted: [], rejected: [] },
    );
    await addFiles();
    expect(invoke).toHaveBeenLastCalledWith('import_paths', { paths: ['/v/a.mp4', '/v/b.mkv'] });

    invoke.mockReset();
    invoke.mockResolvedValue(null);
    expect(await addFolder()).toBeNull();
    expect(invoke).toHaveBeenCalledTimes(1);
    expect(invoke).toHaveBeenCalledWith('pick_folder', {});
  });
});

describe('drag and drop', () => {
  it('shows the overlay while dragging and imports on drop', async () => {
    const over: boolean[] = [];
    invoke.mockResolvedValue({ accepted: [{ path: '/v/a.mp4', key: 'g1' }], rejected: [] });
    handleDragDrop({ type: 'enter', paths: ['/v/a.mp4'] }, (o) => over.push(o));
    handleDragDrop({ type: 'over' }, (o) => over.push(o));
    handleDragDrop({ type: 'leave' }, (o) => over.push(o));
    await handleDragDrop({ type: 'drop', paths: ['/v/a.mp4'] }, (o) => over.push(o));
    expect(over).toEqual([true, true, false, false]);
    expect(invoke).toHaveBeenCalledWith('import_paths', { paths: ['/v/a.mp4'] });
  });
});
