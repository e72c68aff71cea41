// The decoder shared by the Llama-3 and Qwen2 families, LoRA, and Hugging Face checkpoints.
export { Decoder, disposeCache } from './decoder.js';
export { rmsNorm } from '../runtime/fused-rms-norm.js';
export { swiglu } from '../runtime/fused-swiglu.js';
export { inverseFrequencies, rotaryTables, applyRotary, shiftRotary } from './rope.js';
export {
  PROJECTIONS,
  parameterSpecs,
  countParameters,
  buildWeights,
  randomSource,
  namedVariables,
  allVariables,
  type ProjectionName,
  type ParameterSpec,
  type ParameterKind,
  type Linear,
  type DecoderLayer,
  type DecoderWeights,
  type WeightSource,
} from './weights.js';
export { LoraAdapters, linearForward, targetLinears, type LoraOptions, type LoraAdapter } from './lora.js';
export { saveLoraAdapter, loadLoraAdapter, type SaveAdapterOptions } from './peft.js';
export { generateGreedy, type GreedyOptions, type GreedyResult } from './generate.js';
export {
  SafetensorsFile,
  writeSafetensors,
  toBf16,
  toFloat32,
  type SafetensorsEntry,
  type SafetensorsDtype,
  type TensorToWrite,
} from './safetensors.js';
export { writeFileAtomic, writeFolderAtomic, writeTextAtomic } from './atomic-write.js';
export { CheckpointReader, checkTensors } from './hf-checkpoint.js';
export { defineFamily, type FamilyDescription } from './hf-config.js';
export { readHFConfig, loadHFBackbone, loadHFModel, saveHFModel } from './hf-model.js';
export {
  estimateMemory,
  formatMemoryEstimate,
  assertFitsBackend,
  loraParameters,
  WASM_HEAP_BYTES,
  type MemoryEstimate,
  type MemoryEstimateOptions,
} from './estimate.js';
export {
  backboneFamilies,
  backboneArchitecture,
  resolveBackboneShape,
  shapeDecoderConfig,
  modelDirHint,
  createBackbone,
  holdsBaseNatively,
} from './build.js';
