/**
 * Model weight tensors as the engine holds them: f32 (`Tensor`), or a 2-D matrix of a frozen base kept as 16-bit
 * bits (`HalfTensor`, bf16 or f16) and widened to f32 inside the kernels. Shared by the model, the loaders and the
 * writers (checkpoint, HF folder, GGUF, LoRA merge).
 */
import { getKernels, type HalfType, type Kernels } from "./kernels.js";

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

/**
 * A weight matrix kept as 16-bit bits (bf16 or f16; e.g. a frozen base weight at half the memory). It is widened
 * to f32 inside the kernels (`linearFwdHalf` / `linearBwdHalf`): computation stays f32, it gets no gradient.
 */
export interface HalfTensor {
  shape: number[];
  data: Uint16Array;
  dtype: HalfType;
}

/** A model weight as the model holds it: f32, or (2-D matrices of a frozen base only) bf16/f16. */
export type WeightTensor = Tensor | HalfTensor;

/** Storage types of the base weights: f32, or bf16/f16 for the 2-D matrices (see LlamaModel.setBaseDtype). */
export const BASE_DTYPES = ["f32", "bf16", "f16"] as const;
export type BaseDtype = (typeof BASE_DTYPES)[number];

export function isHalfTensor(t: WeightTensor): t is HalfTensor {
  return t.data instanceof Uint16Array;
}

/** A weight's values in f32: the tensor's own array, or (16-bit) a widened copy. */
export function weightF32(t: WeightTensor, K: Kernels = getKernels()): Float32Array {
  if (!isHalfTensor(t)) return t.data;
  const out = new Float32Array(t.data.length);
  K.halfToF32(t.data, t.dtype, out, out.length);
  return out;
}
