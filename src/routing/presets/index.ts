import type { UpstreamType } from '../../config/schema.js';
import type { Preset } from '../endpoint.js';
import { lokiPreset } from './loki.js';
import { rawPreset } from './raw.js';

/** The endpoint table of each upstream `type`. */
const PRESETS: Partial<Record<UpstreamType, Preset>> = {
  raw: rawPreset,
  loki: lokiPreset,
};

export function presetFor(type: UpstreamType): Preset {
  const preset = PRESETS[type];
  if (!preset) throw new Error(`upstream type "${type}" is not available in this build`);
  return preset;
}
