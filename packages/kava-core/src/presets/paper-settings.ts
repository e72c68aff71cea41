import type { KavaConfigInput } from '../config/schema.js';
import type { PresetDefinition } from '../contracts/preset.js';

/**
 * One row of the paper's Table 6 (KAVA-METHOD.md §4): the training settings of a backbone on
 * equation traces (GSM8k-AUG) or natural-language traces (GSM8k-AUG-NL).
 */
export interface PaperSettings {
  /** α1: weight of the CODI hidden-state loss. */
  codi: number;
  /** α2: weight of the KV-matching loss. */
  kv: number;
  kvLoss: 'smooth-l1' | 'mse' | 'l1';
  layerwiseStd: boolean;
  projection: boolean;
  /** λ of the R-KV scorer. */
  lambda: number;
  lr: number;
  weightDecay: number;
  epochs: number;
}

/** Shared by every row: LoRA r 128, α 32, dropout 0.1; batch 128; clip 2.0; 3% warm-up. */
function settingsConfig(row: PaperSettings): KavaConfigInput {
  return {
    backbone: { lora: { enabled: true, rank: 128, alpha: 32, dropout: 0.1 } },
    latent: { projection: row.projection },
    compression: { scorer: 'rkv', options: { lambda: row.lambda } },
    losses: { codi: { weight: row.codi }, kv: { weight: row.kv, type: row.kvLoss, layerwiseStd: row.layerwiseStd } },
    train: { lr: row.lr, weightDecay: row.weightDecay, epochs: row.epochs, batchSize: 128, clip: 2.0, warmup: 0.03 },
  };
}

/**
 * The `config` of a released-checkpoint backbone preset: the backbone, plus the Table 6 row for
 * natural-language traces when the `gsm8k-aug-nl` data preset is also named, else the
 * equation-trace row.
 */
export function paperPresetConfig(
  backbone: { preset: string; family: string },
  rows: { aug: PaperSettings; augNl: PaperSettings },
): PresetDefinition['config'] {
  return ({ presets }) => {
    const row = presets.includes('gsm8k-aug-nl') ? rows.augNl : rows.aug;
    const settings = settingsConfig(row);
    return { ...settings, backbone: { ...settings.backbone, preset: backbone.preset, family: backbone.family } };
  };
}
