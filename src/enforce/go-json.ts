/**
 * Reading JSON objects the way Go's `encoding/json` decodes them into structs, so that what the gateway checks
 * is what a Go upstream (Alertmanager, Loki) will act on.
 *
 * `encoding/json` matches an object member to a struct field by `bytes.EqualFold` (since Go 1.21 through
 * `foldName`: ASCII letters upper-cased, every other rune replaced by the smallest rune of its
 * `unicode.SimpleFold` orbit). So `"ID"`, `"Id"` and `"iD"` all fill the field `id`; so does `"\u212Ad"`-style
 * spelling with the Kelvin sign K (U+212A, in the orbit of k) or the long s ſ (U+017F, in the orbit of s). When
 * several members fold to one field, the last one wins (structs and maps are even merged), so a body holding
 * `id` and `ID` would be checked by a case-sensitive reader under one name and acted on under the other.
 *
 * Every struct field the gateway reads has an ASCII name, and the only runes outside ASCII whose fold orbit
 * holds an ASCII letter are K (U+212A) and ſ (U+017F): `foldGoName` below is therefore exact for every member
 * that can name such a field. Two members made of other non-ASCII runes may fold together in Go and not here,
 * but neither names a field, and Go ignores both (they are dropped by `readGoStruct`). Map members (label sets)
 * are matched exactly by Go and are not folded here either.
 */
import { AmbiguousJsonKey } from './errors.js';

export type JsonObject = Record<string, unknown>;

/** The key `encoding/json` compares field names by: ASCII upper-cased; K → K and ſ → S (see above). */
export function foldGoName(name: string): string {
  let out = '';
  for (const ch of name) {
    if (ch === '\u212a') out += 'K';
    else if (ch === '\u017f') out += 'S';
    else if (ch >= 'a' && ch <= 'z') out += String.fromCharCode(ch.charCodeAt(0) - 32);
    else out += ch;
  }
  return out;
}

/** Whether `value` is a JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads `object` as `encoding/json` fills a struct with these fields (canonical spellings, as in the struct's
 * `json:"…"` tags): returns each field sent, under its canonical name; members that fold to no field are
 * left out (Go ignores them). The result is a fresh object with only those names, so a body rebuilt from it
 * holds exactly what was read, in one spelling.
 * @throws AmbiguousJsonKey when two members fold to the same field (`matchers` and `Matchers`).
 */
export function readGoStruct<F extends string>(object: JsonObject, fields: readonly F[], where: string): Partial<Record<F, unknown>> {
  const byFold = new Map<string, F>(fields.map((field) => [foldGoName(field), field]));
  const out: Partial<Record<F, unknown>> = {};
  const seen = new Map<F, string>();
  for (const key of Object.keys(object)) {
    const field = byFold.get(foldGoName(key));
    if (field === undefined) continue;
    const earlier = seen.get(field);
    if (earlier !== undefined) throw new AmbiguousJsonKey(where, earlier, key);
    seen.set(field, key);
    out[field] = object[key];
  }
  return out;
}

/**
 * The one member of `object` Go would read as `field` (undefined when none).
 * @throws AmbiguousJsonKey when several members fold to `field`.
 */
export function readGoField(object: JsonObject, field: string, where: string): unknown {
  return readGoStruct(object, [field], where)[field];
}
