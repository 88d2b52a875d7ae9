import { describe, expect, it } from 'vitest';
import { translate, type Locale, type Translate } from '../src/lib/i18n';
import { countWaitingForModel, MODEL_HOLD, rowStateLabel, stageWaitingLabel, waitingText } from '../src/lib/waiting';
import { makeRow } from './fixtures';

const tr = (locale: Locale): Translate => (key, params) => translate(locale, key, params);

describe('items waiting for a speech model', () => {
  it('say so in plain words, in both languages', () => {
    expect(waitingText(tr('en'), MODEL_HOLD)).toBe('Waiting for a speech model');
    expect(waitingText(tr('zh-CN'), MODEL_HOLD)).toBe('等待语音模型');
    expect(waitingText(tr('en'), 'a licence')).toBe('Waiting for a licence');
    expect(waitingText(tr('en'), null)).toBeNull();
    expect(waitingText(tr('en'), undefined)).toBeNull();
  });

  it('show "Waiting" as their state, not the state of their jobs', () => {
    expect(rowStateLabel(tr('en'), makeRow(1, { state: 'running', waiting_for: MODEL_HOLD }))).toBe('Waiting');
    expect(rowStateLabel(tr('zh-CN'), makeRow(1, { state: 'pending', waiting_for: MODEL_HOLD }))).toBe('等待模型');
    expect(rowStateLabel(tr('en'), makeRow(1, { state: 'failed' }))).toBe('Failed');
    expect(rowStateLabel(tr('en'), makeRow(1, { state: 'running', waiting_for: null }))).toBe('Running');
  });

  it('label the held stage', () => {
    expect(stageWaitingLabel(tr('en'), 'Audio', { waiting_for: MODEL_HOLD })).toBe('Audio: Waiting for a speech model');
    expect(stageWaitingLabel(tr('zh-CN'), '音频', { waiting_for: MODEL_HOLD })).toBe('音频：等待语音模型');
    expect(stageWaitingLabel(tr('en'), 'Audio', { waiting_for: null })).toBeNull();
    expect(stageWaitingLabel(tr('en'), 'Audio', null)).toBeNull();
  });

  it('are counted for the guide', () => {
    const rows = [makeRow(1, { waiting_for: MODEL_HOLD }), makeRow(2), makeRow(3, { waiting_for: MODEL_HOLD }), makeRow(4, { waiting_for: 'else' })];
    expect(countWaitingForModel(rows)).toBe(2);
    expect(translate('en', 'firstRun.waitingCount', { n: 1 })).toBe('1 video is waiting for a model.');
    expect(translate('en', 'firstRun.waitingCount', { n: 2 })).toBe('2 videos are waiting for a model.');
  });
});
