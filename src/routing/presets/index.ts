import type { UpstreamType } from '../../config/sections/core.js';
import type { Preset } from '../endpoint.js';
import { alertmanagerPreset } from './alertmanager.js';
import { lokiPreset } from './loki.js';
import { mimirPreset } from './mimir.js';
import { prometheusPreset } from './prometheus.js';
import { rawPreset } from './raw.js';
import { createTempoPreset, tempoPreset } from './tempo.js';
import { victoriaMetricsPreset } from './victoriametrics.js';

/** The endpoint table of each upstream `type`. */
const PRESETS: Partial<Record<UpstreamType, Preset>> = {
  raw: rawPreset,
  loki: lokiPreset,
  mimir: mimirPreset,
  prometheus: prometheusPreset,
  victoriametrics: victoriaMetricsPreset,
  tempo: tempoPreset,
  alertmanager: alertmanagerPreset,
};

const prometheusErrorMarkers = [...new Set(Object.values(PRESETS).flatMap((preset) => preset.prometheusErrorPaths?.containing ?? []))];
const ownErrorPrefixes = [...new Set(Object.values(PRESETS).flatMap((preset) => preset.prometheusErrorPaths?.notUnder ?? []))];

/** Whether errors on `path` use the Prometheus API's body: the presets' `prometheusErrorPaths`, joined. */
export function usesPrometheusErrorBody(path: string | undefined): boolean {
  if (path === undefined) return false;
  return prometheusErrorMarkers.some((marker) => path.includes(marker)) && !ownErrorPrefixes.some((prefix) => path.startsWith(prefix));
}

/** Every preset of this build (one per upstream type, Tempo's with its default attribute names). */
export function builtInPresets(): readonly Preset[] {
  return Object.values(PRESETS);
}

/** The preset of an upstream; a few take per-upstream options (Tempo's label → attribute names). */
export function presetFor(type: UpstreamType, options: { traceqlAttributes?: Readonly<Record<string, string>> } = {}): Preset {
  if (type === 'tempo' && options.traceqlAttributes) return createTempoPreset({ attributes: options.traceqlAttributes });
  const preset = PRESETS[type];
  if (!preset) throw new Error(`upstream type "${type}" is not available in this build`);
  return preset;
}
