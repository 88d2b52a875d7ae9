// The one way files get in: a drop, "Add files…", "Add folder…" and the e2e test all call importPaths.
import { call } from './api';
import { baseName } from './paths';
import { pushToast, toastError } from './toasts';
import type { CommandError, ImportReport } from './types';

/** Toasts for an import: how many were accepted, and every rejected file with its reason. */
export function reportImport(report: ImportReport, fromElsewhere = false): void {
  const accepted = report.accepted.length;
  const rejected = report.rejected.length;
  if (accepted > 0) {
    pushToast({ kind: 'success', title: { key: fromElsewhere ? 'import.fromElsewhere' : 'import.accepted', params: { n: accepted } } });
  }
  if (rejected > 0) {
    pushToast({
      kind: 'warning',
      title: { key: 'import.rejectedTitle', params: { n: rejected } },
      lines: report.rejected.map((r) => ({ label: baseName(r.path), text: r.reason, hint: r.path })),
    });
  } else if (accepted === 0 && !fromElsewhere) {
    pushToast({ kind: 'warning', title: { key: 'import.nothing' } });
  }
}

/** Sends paths (files or folders) to import_paths and reports the outcome. Never throws. */
export async function importPaths(paths: string[]): Promise<ImportReport | null> {
  const wanted = paths.filter((p) => typeof p === 'string' && p.length > 0);
  if (wanted.length === 0) return null;
  try {
    const report = await call('import_paths', { paths: wanted });
    reportImport(report);
    return report;
  } catch (error) {
    toastError(error as CommandError);
    return null;
  }
}

/** "Add files…": the native picker, then the same import. */
export async function addFiles(): Promise<ImportReport | null> {
  try {
    const picked = await call('pick_files');
    return picked.length ? importPaths(picked) : null;
  } catch (error) {
    toastError(error as CommandError);
    return null;
  }
}

/** "Add folder…": the native picker, then the same import (the shell expands the folder). */
export async function addFolder(): Promise<ImportReport | null> {
  try {
    const picked = await call('pick_folder');
    return picked ? importPaths([picked]) : null;
  } catch (error) {
    toastError(error as CommandError);
    return null;
  }
}
