// The presets room. A preset is a run recipe: a named partial configuration that the top-level
// `preset` of a config (or `--preset`) applies, of one of three kinds that combine:
//   backbone  tiny-llama, llama-1b, qwen-0.5b...: registered by the family plugins; each picks a
//             backbone shape (a named architecture, `BackboneShape`, contracts/backbone.ts) and
//             that model's training settings: the CPU budget (cpu-budget.ts) for the tiny ones,
//             LoRA and the paper's Table 6 row (paper-settings.ts) for the released checkpoints
//   method    kava, codi, pccot, full-cot, no-cot (register.ts)
//   data      synthetic, gsm8k-aug, gsm8k-aug-nl (register.ts)
// What a preset is (`PresetDefinition`) is in contracts/preset.ts; how presets are layered
// (backbone < data < method, under the config file) is in assembly/load-config.ts.
export * from './cpu-budget.js';
export * from './paper-settings.js';
