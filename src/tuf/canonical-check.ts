// SPDX-License-Identifier: Apache-2.0
// Is this JSON text already in OLPC canonical form? One pass over the characters, no values
// built. Every file Bulwark writes is canonical, so for those this replaces both the strict
// scan (canonical text has no duplicate keys, floats or whitespace) and the re-encoding of the
// signed part: its bytes are a slice of the file. Re-encoding a 16,384-bin snapshot costs
// several times what this scan does.
import { compareCodePoints } from './canonical-json.js';

export interface CanonicalCheck {
  canonical: boolean;
  /** When canonical and the text is an object: each top-level member's value as [start, end). */
  members: Map<string, [number, number]>;
}

const SURROGATE = /[\ud800-\udfff]/;

export function checkCanonical(text: string): CanonicalCheck {
  const members = new Map<string, [number, number]>();
  let i = 0;
  const n = text.length;
  let depth = 0;

  // Returns the decoded string and moves past it, or throws when not canonical.
  const string = (): string => {
    if (text.charCodeAt(i) !== 0x22) throw NOT;
    let j = i + 1;
    let decoded = '';
    let from = j;
    for (;;) {
      if (j >= n) throw NOT;
      const c = text.charCodeAt(j);
      if (c === 0x22) break;
      if (c === 0x5c) {
        const e = text.charCodeAt(j + 1);
        if (e !== 0x22 && e !== 0x5c) throw NOT; // canonical form escapes only " and \
        decoded += text.slice(from, j) + text[j + 1];
        j += 2;
        from = j;
        continue;
      }
      j++;
    }
    decoded += text.slice(from, j);
    i = j + 1;
    return decoded;
  };

  const value = (): void => {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      depth++;
      i++;
      if (text.charCodeAt(i) === 0x7d) {
        i++;
        depth--;
        return;
      }
      let previous: string | undefined;
      for (;;) {
        const key = string();
        if (previous !== undefined) {
          const order = SURROGATE.test(key) || SURROGATE.test(previous) ? compareCodePoints(previous, key) : previous < key ? -1 : previous === key ? 0 : 1;
          if (order >= 0) throw NOT; // unsorted or duplicate
        }
        previous = key;
        if (text.charCodeAt(i) !== 0x3a /* : */) throw NOT;
        i++;
        const start = i;
        value();
        if (depth === 1) members.set(key, [start, i]);
        const d = text.charCodeAt(i);
        i++;
        if (d === 0x2c /* , */) continue;
        if (d === 0x7d /* } */) break;
        throw NOT;
      }
      depth--;
    } else if (c === 0x5b /* [ */) {
      depth++;
      i++;
      if (text.charCodeAt(i) === 0x5d) {
        i++;
        depth--;
        return;
      }
      for (;;) {
        value();
        const d = text.charCodeAt(i);
        i++;
        if (d === 0x2c) continue;
        if (d === 0x5d) break;
        throw NOT;
      }
      depth--;
    } else if (c === 0x22) {
      string();
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i;
      if (text.charCodeAt(j) === 0x2d) j++;
      const digits = j;
      while (j < n && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) j++;
      const literal = text.slice(i, j);
      if (j === digits || (text.charCodeAt(digits) === 0x30 && j - digits > 1) || literal === '-0' || !Number.isSafeInteger(Number(literal))) throw NOT;
      i = j;
    } else if (text.startsWith('true', i)) i += 4;
    else if (text.startsWith('false', i)) i += 5;
    else if (text.startsWith('null', i)) i += 4;
    else throw NOT;
  };

  try {
    value();
    if (i !== n) throw NOT;
    return { canonical: true, members };
  } catch (e) {
    if (e !== NOT) throw e;
    return { canonical: false, members: new Map() };
  }
}

const NOT = new Error('not canonical');
