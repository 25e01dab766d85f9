import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstDuplicateKey, parseJsonPayload } from './parse-json.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe('parseJsonPayload: the one parser of HTTP bodies and MQTT payloads', () => {
  it('parses JSON from bytes and from text alike', () => {
    expect(parseJsonPayload(bytes('{"readings": [{"a": 1}]}'))).toEqual({ readings: [{ a: 1 }] });
    expect(parseJsonPayload('{"readings": []}')).toEqual({ readings: [] });
  });

  it('ignores one leading byte order mark, from bytes and from text', () => {
    expect(parseJsonPayload(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('{"a": 1}')]))).toEqual({ a: 1 });
    expect(parseJsonPayload('\uFEFF{"a": 1}')).toEqual({ a: 1 });
    expect(codeOf(() => parseJsonPayload('\uFEFF\uFEFF{"a": 1}'))).toBe('RPM_ERR_REQUEST_MALFORMED_JSON');
  });

  it('refuses invalid UTF-8 instead of replacing it', () => {
    expect(codeOf(() => parseJsonPayload(new Uint8Array([0x7b, 0x22, 0x61, 0xff, 0x22, 0x3a, 0x31, 0x7d])))).toBe('RPM_ERR_REQUEST_MALFORMED_JSON');
  });

  it('refuses a repeated key with the JSON pointer of the repeat, wherever it is', () => {
    const err = (() => {
      try {
        parseJsonPayload('{"readings": [{"kind": "spo2"}, {"kind": "spo2", "value": 97, "value": 40}]}');
      } catch (e) {
        return e as { code: string; path: string; message: string };
      }
      return undefined;
    })();
    expect(err).toMatchObject({ code: 'RPM_ERR_REQUEST_DUPLICATE_KEY', path: '/readings/1/value' });
    expect(firstDuplicateKey('{"a": 1, "\\u0061": 2}')).toBe('/a');
    expect(firstDuplicateKey('{"a": {"b": 1}, "c": [{"b": 1}, {"b": 2}], "d": "\\"a\\": 1, \\"a\\""}')).toBeUndefined();
    expect(firstDuplicateKey('[{"x": [1, {"y": 1, "y": 2}]}]')).toBe('/0/x/1/y');
    expect(firstDuplicateKey('{"a~/b": 1, "a~/b": 2}')).toBe('/a~0~1b');
  });

  it('never quotes the payload in its error (it may hold patient data)', () => {
    try {
      parseJsonPayload('{"patient": "Jane Roe", oops}');
    } catch (err) {
      expect((err as Error).message).not.toContain('Jane');
    }
    expect.assertions(1);
  });

  it('agrees with JSON.parse on every JSON document without repeated keys, and finds every repeat it makes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(parseJsonPayload(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1 }), fc.nat(), (dict, pick) => {
        const keys = Object.keys(dict);
        const key = keys[pick % keys.length] as string;
        const text = `${JSON.stringify(dict).slice(0, -1)},${JSON.stringify(key)}:null}`;
        expect(codeOf(() => parseJsonPayload(text))).toBe('RPM_ERR_REQUEST_DUPLICATE_KEY');
      }),
      { numRuns: 300 },
    );
  });

  it('finds a repeat nested in arrays and objects, beside strings full of quotes and backslashes', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 }), (before, first, second) => {
        const key = JSON.stringify('x\\"'); // x, a backslash, a quote
        const text = `{"list":[${JSON.stringify(before)},{${key}:${JSON.stringify(first)},${key}:${JSON.stringify(second)}}]}`;
        expect(() => parseJsonPayload(text)).toThrow(expect.objectContaining({ code: 'RPM_ERR_REQUEST_DUPLICATE_KEY', path: '/list/1/x\\"' }));
      }),
      { numRuns: 300 },
    );
  });
});
