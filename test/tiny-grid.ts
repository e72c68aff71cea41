// The tiny two-stage grid the `kava experiment` tests run (locally and on Slurm).

/** A grid small enough for a test: 2 seeds, a backbone and two methods (one the example plugin's scorer). */
export const TINY_GRID = `name: tiny
seeds: [0, 1]
traces: [equation]
config:
  plugins: [kava-plugin-example]
  data: { format: synthetic, synthetic: { maxValue: 20, minSteps: 3, maxSteps: 4 } }
  train: { batchSize: 4, microBatchSize: 4, teacherWarmup: 0, warmup: 0.05, checkpointEvery: 5 }
  eval: { limit: 8 }
stages:
  - name: backbone
    presets: [tiny-llama, full-cot]
    config: { data: { dropLastStep: false }, train: { steps: 10, lr: 3.0e-3, evalEvery: 10 } }
  - name: methods
    from: backbone
    presets: [tiny-llama]
    config: { train: { steps: 6, lr: 1.0e-3, evalEvery: 6 } }
    methods:
      kava-rkv: { presets: [kava], config: { compression: { scorer: rkv } } }
      kava-value-norm: { presets: [kava], config: { compression: { scorer: value-norm } } }
report: { against: [kava-rkv] }
`;
