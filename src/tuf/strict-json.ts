// SPDX-License-Identifier: Apache-2.0
// The one place metadata bytes become JSON values. Fails closed on what JSON.parse accepts
// silently and other implementations read differently: duplicate object keys, numbers that
// are not safe integers (floats, exponents, values past 2^53), and invalid UTF-8.
//
// Linear-time design: JSON.parse builds the value; a one-pass check says whether the input is
// already in canonical form (as every file Bulwark writes is), in which case it cannot hold a
// duplicate key or a float, so only non-canonical input (python-tuf writes indented JSON) pays
// for the strict scan below.
import type { JsonValue } from './canonical-json.js';
import { checkCanonical, type CanonicalCheck } from './canonical-check.js';
import { BadMetadataError } from './errors.js';

// ignoreBOM keeps a leading U+FEFF in the text, so JSON.parse refuses it as python-tuf does
// (TextDecoder would otherwise drop it silently).
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function parseStrictJson(bytes: Uint8Array | string, what = 'metadata'): JsonValue {
  return parseStrictJsonText(bytes, what).value;
}

/**
 * Like parseStrictJson, also returning the text and, when it is canonical, the spans of its
 * top-level members (so a caller can take the signed part's bytes without re-encoding it).
 */
export function parseStrictJsonText(bytes: Uint8Array | string, what = 'metadata'): { value: JsonValue; text: string; check: CanonicalCheck } {
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : decoder.decode(bytes);
  } catch (cause) {
    throw new BadMetadataError(`${what} is not valid UTF-8`, { cause });
  }
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (cause) {
    throw new BadMetadataError(`${what} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  const check = checkCanonical(text);
  if (!check.canonical) scanStrict(text, what);
  return { value, text, check };
}

/** Walks the JSON text once, rejecting duplicate keys and non-integer numbers. */
function scanStrict(text: string, what: string): void {
  // Stack of key sets, one per open object (null for arrays).
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) j += 2;
        else if (d === 0x22) break;
        else j++;
      }
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) throw new BadMetadataError(`${what} has a duplicate key "${key}"`);
        top.add(key);
        expectKey = false;
      }
      i = j + 1;
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
      i++;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      i++;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
      i++;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < n && /[0-9.eE+-]/.test(text[j] as string)) j++;
      const literal = text.slice(i, j);
      if (!/^-?(0|[1-9][0-9]*)$/.test(literal) || !Number.isSafeInteger(Number(literal))) {
        throw new BadMetadataError(`${what} has a number that is not a safe integer: ${literal}`);
      }
      i = j;
    } else {
      i++;
    }
  }
}
