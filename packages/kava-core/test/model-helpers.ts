// Helpers shared by the model tests.
import type { DecoderConfig } from '@kava/core';

/** A safetensors file from a header object and data bytes, written byte by byte as the spec says. */
export function rawSafetensors(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  return Buffer.concat([length, json, Buffer.from(data)]);
}

/** A small decoder config (GQA 4/2 heads) for tests that need no checkpoint. */
export function tinyConfig(overrides: Partial<DecoderConfig> = {}): DecoderConfig {
  return {
    family: 'llama',
    vocabSize: 40,
    hiddenSize: 32,
    intermediateSize: 48,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 8,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeScaling: null,
    maxPositionEmbeddings: 128,
    tieWordEmbeddings: false,
    attentionBias: false,
    ...overrides,
  };
}
