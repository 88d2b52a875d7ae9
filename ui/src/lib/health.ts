// The Dashboard's health card: one line per check, and a verdict that reflects every line.
import { formatBytes } from './format';
import { translate, type Locale } from './i18n';
import type { AppHealth } from './types';

/** ok: fine; warning: works, but look at it; problem: videos cannot be processed. */
export type HealthLevel = 'ok' | 'warning' | 'problem';

export interface HealthCheck {
  id: 'ffmpeg' | 'cpu' | 'device' | 'ffprobe' | 'model' | 'disk' | 'store' | 'claims' | 'quarantine' | 'queues';
  label: string;
  level: HealthLevel;
  text: string;
}

export interface HealthVerdict {
  level: HealthLevel;
  /** The labels of the lines that are not ok, worst first. */
  reasons: string[];
}

/** Below this, free disk space is a warning. */
export const LOW_DISK = 2 * 1024 ** 3;
/** Below this, no new job starts (the queue's default; its health reports the floor in use). */
export const TOO_LITTLE_DISK = 200 * 1024 ** 2;

const RANK: Record<HealthLevel, number> = { ok: 0, warning: 1, problem: 2 };
const worst = (a: HealthLevel, b: HealthLevel): HealthLevel => (RANK[a] >= RANK[b] ? a : b);

/**
 * Where speech is recognised and the GPUs found. A GPU build that could not list its devices (a
 * driver that failed) is worth a look; the CPU is otherwise a fine place, so never a problem.
 */
function deviceCheck(health: AppHealth, tr: (key: Parameters<typeof translate>[1], params?: Parameters<typeof translate>[2]) => string): HealthCheck {
  const gpu = health.gpu ?? { workers: [], devices: [], problems: [] };
  const where = health.device === 'cpu' || !health.device ? tr('dash.deviceCpu') : health.device;
  const found = gpu.devices.map((d) => `${d.backend}: ${d.name} (${tr(`dash.gpu.${d.kind}`)}, ${d.memory_mib} MiB)`);
  const parts = [where];
  if (found.length > 0) parts.push(tr('dash.devicesFound', { devices: found.join('; ') }));
  else if (gpu.workers.length === 0) parts.push(tr('dash.noGpuBuild'));
  if (health.device_note) parts.push(health.device_note);
  if (gpu.problems.length > 0) parts.push(gpu.problems.join('; '));
  return { id: 'device', label: tr('dash.device'), level: gpu.problems.length > 0 ? 'warning' : 'ok', text: parts.join(' — ') };
}

/**
 * The lines of the card, in the order shown. `claims` is there only while no new job starts,
 * `quarantine` only when records were set aside, `queues` only when every queue is paused.
 */
export function healthChecks(health: AppHealth, locale: Locale): HealthCheck[] {
  const tr = (key: Parameters<typeof translate>[1], params?: Parameters<typeof translate>[2]) => translate(locale, key, params);
  const free = health.queue.free_disk_bytes;
  const floor = health.queue.min_free_disk_bytes ?? TOO_LITTLE_DISK;
  const storeOk = health.queue.store_writable && !health.queue.store_error;
  const checks: HealthCheck[] = [
    {
      id: 'ffmpeg',
      label: tr('dash.ffmpeg'),
      level: health.ffmpeg ? 'ok' : 'problem',
      text: health.ffmpeg ? `${health.ffmpeg}${health.ffmpeg_path ? ` (${health.ffmpeg_path})` : ''}` : tr('dash.ffmpegMissing'),
    },
    { id: 'cpu', label: tr('dash.cpu'), level: health.cpu_problem ? 'problem' : 'ok', text: health.cpu_problem ?? tr('dash.cpuOk') },
    deviceCheck(health, tr),
    { id: 'ffprobe', label: tr('dash.ffprobe'), level: health.ffprobe ? 'ok' : 'problem', text: health.ffprobe ?? tr('dash.ffprobeMissing') },
    {
      id: 'model',
      label: tr('dash.model'),
      level: health.model_present ? 'ok' : 'problem',
      text: tr(health.model_present ? 'dash.modelPresent' : 'dash.modelMissing', { model: health.model }),
    },
    {
      id: 'disk',
      label: tr('dash.disk'),
      level: free === null ? 'ok' : free < floor ? 'problem' : free < LOW_DISK ? 'warning' : 'ok',
      text: free === null ? tr('dash.diskUnknown') : free < LOW_DISK ? tr('dash.diskLow', { free: formatBytes(free, locale) }) : formatBytes(free, locale),
    },
    {
      id: 'store',
      label: tr('dash.store'),
      level: storeOk ? 'ok' : 'problem',
      text: `${health.queue.store_writable ? tr('dash.storeOk') : tr('dash.storeProblem')}${health.queue.store_error ? ` — ${health.queue.store_error}` : ''}`,
    },
  ];
  if (health.queue.claims_stopped) {
    checks.push({ id: 'claims', label: tr('dash.claims'), level: 'problem', text: tr('dash.claimsStopped', { why: health.queue.claims_stopped }) });
  }
  const aside = health.queue.quarantined ?? 0;
  if (aside > 0) {
    const jobs = health.queue.quarantined_jobs ?? [];
    const text = tr('dash.quarantined', { n: aside }) + (jobs.length > 0 ? ` ${tr('dash.quarantinedJobs', { jobs: jobs.join(', ') })}` : '');
    checks.push({ id: 'quarantine', label: tr('dash.quarantine'), level: 'warning', text });
  }
  if (health.queue.all_paused) checks.push({ id: 'queues', label: tr('dash.queues'), level: 'warning', text: tr('dash.allPaused') });
  return checks;
}

/**
 * The card's verdict: the worst of its lines, so a missing model is never "OK". The core's
 * own `ok` counts too: when it sees a problem no line shows, the verdict is still a problem.
 */
export function healthVerdict(health: AppHealth, checks: HealthCheck[]): HealthVerdict {
  const notOk = checks.filter((c) => c.level !== 'ok').sort((a, b) => RANK[b.level] - RANK[a.level]);
  const level = notOk.reduce<HealthLevel>((l, c) => worst(l, c.level), health.ok ? 'ok' : 'problem');
  return { level, reasons: notOk.map((c) => c.label) };
}
