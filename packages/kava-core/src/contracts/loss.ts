import type { tf } from '../tf.js';
import type { DecoderConfig } from './backbone.js';

type Tensor = tf.Tensor;

/** Everything one training step computed that a loss term may read (tensors owned by the trainer). */
export interface LossInputs {
  /** Teacher logits [B, S_t, V] and next-token targets [B, S_t] int32 with mask [B, S_t]. */
  teacher?: {
    logits: Tensor;
    targets: Tensor;
    /** 1 where the token is a CoT or answer target (question masked). */
    targetMask: Tensor;
    /** Per layer hidden states [B, S_t, hidden] (L + 1 entries). */
    hidden?: Tensor[];
    /** [B] int32 index of the token just before the answer (the ":" of "The answer is:"). */
    answerAnchor?: Tensor;
  };
  student?: {
    logits: Tensor;
    targets: Tensor;
    /** 1 on answer tokens. */
    targetMask: Tensor;
    hidden?: Tensor[];
    answerAnchor?: Tensor;
    /** [B, L, H_kv, M, d] student K/V at the latent slots. */
    latentKeys?: Tensor;
    latentValues?: Tensor;
    /** [B, M] int32 RoPE position of each latent slot. */
    latentPositions?: Tensor;
  };
  /**
   * Compressed teacher K/V targets and slot masks (see EvictionResult: headSlotMask when the
   * evictor gave layers or heads their own budgets), and [B, L, H_kv, M] int32 the RoPE position
   * each kept key was rotated at in the teacher pass.
   */
  compressed?: { keys: Tensor; values: Tensor; slotMask: Tensor; headSlotMask?: Tensor; positions?: Tensor };
  /** The backbone's rotary settings, for a term that moves keys between positions. */
  rope?: Pick<DecoderConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>;
}

/** One term of the objective, registered by name. Its weight comes from the config. */
export interface LossTerm {
  readonly name: string;
  /** Parts of LossInputs it reads; the trainer skips building what no term needs. */
  readonly needs: readonly ('teacher' | 'student' | 'compressed' | 'hidden')[];
  /**
   * Returns an unweighted scalar. Teacher targets must be wrapped in stop-gradient by the term
   * (KV and CODI terms); called inside the optimiser's gradient tape.
   */
  compute(inputs: LossInputs): Tensor;
}
