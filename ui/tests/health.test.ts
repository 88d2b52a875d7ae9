import { describe, expect, it } from 'vitest';
import { healthChecks, healthVerdict, LOW_DISK } from '../src/lib/health';
import type { AppHealth } from '../src/lib/types';

function health(over: Partial<AppHealth> = {}, queue: Partial<AppHealth['queue']> = {}): AppHealth {
  return {
    ok: true,
    queue: {
      ok: true,
      store: '/data/queue',
      store_writable: true,
      store_error: null,
      free_disk_bytes: 50 * 1024 ** 3,
      min_free_disk_bytes: 200 * 1024 ** 2,
      claims_stopped: null,
      quarantined: 0,
      quarantined_jobs: [],
      all_paused: false,
      ...queue,
    },
    ffmpeg: 'ffmpeg version 6.1',
    ffprobe: 'ffprobe version 6.1',
    model: 'base',
    model_present: true,
    cpu_problem: null,
    ffmpeg_path: null,
    gpu: { workers: [], devices: [], problems: [] },
    device: 'cpu',
    device_note: null,
    ...over,
  };
}

const verdictOf = (h: AppHealth) => healthVerdict(h, healthChecks(h, 'en'));

describe('health verdict', () => {
  it('is OK when every line is', () => {
    expect(verdictOf(health())).toEqual({ level: 'ok', reasons: [] });
  });

  it('is not OK when the speech model is missing, though the core says ok, and names the reason', () => {
    const h = health({ ok: true, model_present: false });
    const checks = healthChecks(h, 'en');
    expect(checks.find((c) => c.id === 'model')).toMatchObject({ level: 'problem', text: 'Model “base” is not installed. Download it in Settings.' });
    expect(healthVerdict(h, checks)).toEqual({ level: 'problem', reasons: ['Speech model'] });
  });

  it('warns about low disk space and paused queues, and lists problems before warnings', () => {
    expect(verdictOf(health({}, { free_disk_bytes: LOW_DISK - 1 }))).toEqual({ level: 'warning', reasons: ['Free disk space'] });
    expect(verdictOf(health({}, { all_paused: true }))).toEqual({ level: 'warning', reasons: ['Queues'] });
    expect(verdictOf(health({ ffmpeg: null }, { free_disk_bytes: LOW_DISK - 1 }))).toEqual({ level: 'problem', reasons: ['ffmpeg', 'Free disk space'] });
    expect(verdictOf(health({}, { free_disk_bytes: 10 * 1024 ** 2 })).level).toBe('problem');
  });

  it('counts every line: processor, ffprobe, job store', () => {
    expect(verdictOf(health({ cpu_problem: 'no AVX' })).reasons).toEqual(['Processor']);
    expect(verdictOf(health({ ffprobe: null })).reasons).toEqual(['ffprobe']);
    expect(verdictOf(health({}, { store_writable: false })).reasons).toEqual(['Job store']);
    expect(verdictOf(health({}, { store_error: 'EIO' })).level).toBe('problem');
  });

  it('says why no new job starts, and that records were set aside, naming the jobs', () => {
    const stopped = health({ ok: false }, { ok: false, claims_stopped: 'only 150 MiB is free on the disk of the job store' });
    expect(healthChecks(stopped, 'en').find((c) => c.id === 'claims')).toMatchObject({
      level: 'problem',
      text: 'Not starting: only 150 MiB is free on the disk of the job store',
    });
    expect(verdictOf(stopped)).toEqual({ level: 'problem', reasons: ['New jobs'] });
    const aside = health({}, { quarantined: 2, quarantined_jobs: [17] });
    expect(healthChecks(aside, 'en').find((c) => c.id === 'quarantine')).toMatchObject({
      level: 'warning',
      text: '2 stored records could not be read and were set aside. Jobs: 17.',
    });
    expect(verdictOf(aside)).toEqual({ level: 'warning', reasons: ['Unreadable records'] });
    expect(healthChecks(health(), 'en').map((c) => c.id)).not.toContain('quarantine');
  });

  it('uses the floor the queue reports for the disk line', () => {
    expect(verdictOf(health({}, { free_disk_bytes: 300 * 1024 ** 2, min_free_disk_bytes: 500 * 1024 ** 2 })).level).toBe('problem');
  });

  it('is a problem when the core says so, even with no line to show for it', () => {
    expect(verdictOf(health({ ok: false }))).toEqual({ level: 'problem', reasons: [] });
  });

  it('speaks the window language', () => {
    const h = health({ model_present: false });
    expect(healthChecks(h, 'zh-CN').find((c) => c.id === 'model')?.label).not.toBe('Speech model');
  });

  it('says where speech is recognised, lists the GPUs found, and warns only when a GPU build failed to ask its driver', () => {
    const cpu = healthChecks(health(), 'en').find((c) => c.id === 'device')!;
    expect(cpu).toMatchObject({ level: 'ok', label: 'Speech recognition on' });
    expect(cpu.text).toBe('the processor (CPU) — no GPU build installed');
    const worker = { backend: 'vulkan', program: '/opt/video2doc/video2doc-whisper-vulkan' };
    const soft = health({
      gpu: { workers: [worker], devices: [{ backend: 'vulkan', index: 0, name: 'llvmpipe', kind: 'software', memory_mib: 24000 }], problems: [] },
      device_note: 'transcribed on the CPU: no usable GPU: vulkan: llvmpipe is a software renderer',
    });
    const line = healthChecks(soft, 'en').find((c) => c.id === 'device')!;
    expect(line.level).toBe('ok');
    expect(line.text).toContain('GPUs found: vulkan: llvmpipe (software, slower than the CPU, 24000 MiB)');
    expect(line.text).toContain('software renderer');
    const gpu = health({
      gpu: { workers: [worker], devices: [{ backend: 'vulkan', index: 1, name: 'RTX 3060', kind: 'discrete', memory_mib: 12288, free_mib: 11000 }], problems: [] },
      device: 'vulkan: RTX 3060',
    });
    expect(healthChecks(gpu, 'zh-CN').find((c) => c.id === 'device')!.text).toBe('vulkan: RTX 3060 — 找到的 GPU：vulkan: RTX 3060 (独立显卡, 12288 MiB)');
    const broken = health({ gpu: { workers: [worker], devices: [], problems: ['video2doc-whisper-vulkan: it exited with signal 11'] } });
    expect(verdictOf(broken)).toEqual({ level: 'warning', reasons: ['Speech recognition on'] });
  });
});
