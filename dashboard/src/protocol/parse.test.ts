import { describe, expect, it } from 'vitest';
import { parseFrame } from './parse';
import { telemetry } from '../test/factories';

describe('parseFrame', () => {
  it('accepts spec messages and ignores unknown data fields', () => {
    const r = parseFrame(JSON.stringify({ type: 'telemetry_update', data: { ...telemetry(), newField: 1 } }));
    expect(r.ok).toBe(true);
  });
  it.each([
    ['{', 'invalid_json'],
    ['[]', 'invalid_message'],
    ['{"type":"x"}', 'invalid_message'],
    ['{"type":"bogus","data":{}}', 'unknown_type bogus'],
    ['{"type":"telemetry_update","data":{"driverId":"d","speed":"fast"}}', 'telemetry_update: bad field data.speed'],
    ['{"type":"standings_update","data":{"entries":null}}', 'standings_update: bad field data.entries'],
  ])('refuses %s', (text, error) => {
    expect(parseFrame(text)).toEqual({ ok: false, error });
  });
});
