/**
 * UTF-8 as Go reads it for the upstreams: invalid bytes are an error (`fatal`, never U+FFFD replacement), and a
 * leading byte-order mark is part of the text (`ignoreBOM`: TextDecoder would otherwise drop it, so a label
 * value checked as "team-a" could be stored as "\uFEFFteam-a").
 */
export const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
