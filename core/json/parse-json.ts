import { RpmError } from '../errors/rpm-error.js';

/**
 * The one JSON parser for everything a client sends: HTTP bodies (`application/json`,
 * `application/fhir+json`) and MQTT payloads, so that one payload means the same on every input.
 *
 * - UTF-8 only, strictly: invalid byte sequences are refused rather than replaced with U+FFFD.
 * - A single leading byte order mark is ignored (RFC 8259 §8.1 lets parsers do so; some device
 *   software writes one), on every input alike.
 * - Duplicate keys in one object are refused (RFC 8259 §4 leaves their meaning undefined, and a
 *   last-wins parser lets a payload say one thing to a log or a proxy and another to us).
 *
 * `JSON.parse` does the parsing (native speed, and it validates the syntax); duplicate keys are
 * then found by one linear scan of the already-valid text, which is why the scan can skip most
 * of the grammar. A general-purpose JSON tokenizer from npm would re-parse everything in
 * JavaScript on the ingest hot path for a check that needs only object keys.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Longest key echoed back in an error path; keys are schema names, anything longer is noise. */
const MAX_KEY_IN_PATH = 64;

export function parseJsonPayload(input: Uint8Array | string, what = 'body'): unknown {
  let text: string;
  if (typeof input === 'string') {
    text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else {
    try {
      text = utf8.decode(input);
    } catch {
      throw new RpmError('RPM_ERR_REQUEST_MALFORMED_JSON', `${what} is not valid UTF-8`, { path: '' });
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not the engine's message: it quotes the payload, which may hold patient data.
    throw new RpmError('RPM_ERR_REQUEST_MALFORMED_JSON', text.trim() === '' ? `${what} is empty` : `${what} is not valid JSON`, { path: '' });
  }
  if (typeof value === 'object' && value !== null && mayRepeatKeys(text, value)) {
    const duplicate = firstDuplicateKey(text);
    if (duplicate !== undefined) {
      throw new RpmError('RPM_ERR_REQUEST_DUPLICATE_KEY', `${what} repeats the key at ${duplicate} in one object`, { path: duplicate });
    }
  }
  return value;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/** End index of the string that opens at `start` (the index of its closing quote). */
function stringEnd(text: string, start: number): number {
  let j = start + 1;
  for (;;) {
    j = text.indexOf('"', j);
    let backslashes = 0;
    for (let k = j - 1; text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return j;
    j++;
  }
}

/**
 * False when `text` (valid JSON, parsed into `value`) cannot hold a repeated key; true when it may
 * (then `firstDuplicateKey` finds where). Every string of the text (keys and string values) is
 * delimited by two unescaped quotes, and every one of them is in `value` unless a repeated key
 * dropped it (the repeat, and the strings of the value it replaced): so the text has as many
 * strings as `value` has keys and string values exactly when no key repeats. Counting quotes is
 * `indexOf` at native speed; the parsed value is walked without recursion (any depth).
 */
function mayRepeatKeys(text: string, value: object): boolean {
  let quotes = 0;
  for (let j = text.indexOf('"'); j !== -1; j = text.indexOf('"', j + 1)) {
    let backslashes = 0;
    for (let k = j - 1; text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) quotes++;
  }
  let strings = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') strings++;
    else if (Array.isArray(v)) for (const item of v) stack.push(item);
    else if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v);
      strings += keys.length;
      for (const key of keys) stack.push((v as Record<string, unknown>)[key]);
    }
  }
  return quotes !== 2 * strings;
}

/**
 * The JSON pointer of the first key that repeats within one object, or undefined. `text` must be
 * valid JSON. Keys compare after unescaping (`"a"` and `"\u0061"` are the same key).
 */
export function firstDuplicateKey(text: string): string | undefined {
  // One frame per open container: the keys seen so far (objects) or null (arrays); and where we are.
  const frames: (Set<string> | null)[] = [];
  const path: (string | number)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        const keys = frames[frames.length - 1] as Set<string>;
        path[path.length - 1] = key;
        if (keys.has(key)) return pointer(path);
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT) {
      frames.push(new Set());
      path.push('');
      expectKey = true;
    } else if (c === OPEN_ARRAY) {
      frames.push(null);
      path.push(0);
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      frames.pop();
      path.pop();
      expectKey = false;
    } else if (c === COMMA) {
      if (frames[frames.length - 1] === null) path[path.length - 1] = (path[path.length - 1] as number) + 1;
      else expectKey = true;
    }
  }
  return undefined;
}

function pointer(path: readonly (string | number)[]): string {
  return path
    .map((p) => {
      const s = typeof p === 'number' ? String(p) : p.length > MAX_KEY_IN_PATH ? `${p.slice(0, MAX_KEY_IN_PATH)}…` : p;
      return `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    })
    .join('');
}
