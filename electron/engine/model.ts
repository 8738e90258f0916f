// The embedding model: manifest, integrity check, inference session on the best execution provider.
// Any ONNX image-embedding model with a manifest of this shape works without code changes.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { z } from 'zod';
import type { ExecutionProviderChoice, ExecutionProviderName, ProviderAttempt, ProviderInfo } from './types.ts';

/** models/ in the project (next to electron/). Overridable everywhere with a modelDir option. */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../models/', import.meta.url));

const manifestSchema = z.object({
  manifestVersion: z.literal(1),
  name: z.string().min(1),
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  source: z.string(),
  licence: z.string(),
  input: z.object({
    name: z.string().min(1),
    dtype: z.literal('float32'),
    layout: z.enum(['NHWC', 'NCHW']),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    channels: z.literal('RGB'),
    valueRange: z.tuple([z.number(), z.number()]),
    resize: z.literal('fill'),
  }),
  output: z.object({ name: z.string().min(1), dimension: z.number().int().positive() }),
});

export type ModelManifest = z.infer<typeof manifestSchema>;

/** Preference order when the user leaves the choice to us. */
export const PROVIDER_ORDER: ExecutionProviderName[] = ['tensorrt', 'cuda', 'webgpu', 'cpu'];

export async function loadManifest(modelDir: string): Promise<ModelManifest> {
  const manifestPath = join(modelDir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    throw new Error(`model manifest ${manifestPath} cannot be read: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`model manifest ${manifestPath} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new Error(`model manifest ${manifestPath} is invalid: ${problems}`);
  }
  return parsed.data;
}

/** Reads the model file and checks it against the manifest's sha256. */
export async function readVerifiedModel(modelDir: string, manifest: ModelManifest): Promise<Uint8Array> {
  const modelPath = join(modelDir, manifest.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(modelPath);
  } catch (error) {
    throw new Error(`model file ${modelPath} cannot be read (${(error as Error).message}); rebuild it with "npm run build:model"`);
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== manifest.sha256) {
    throw new Error(`model file ${modelPath} is damaged or not the one in its manifest: sha256 ${sha}, expected ${manifest.sha256}; rebuild it with "npm run build:model"`);
  }
  return bytes;
}

export interface EmbeddingModelOptions {
  modelDir?: string;
  provider?: ExecutionProviderChoice;
  log?: (message: string) => void;
}

/** One inference session; `embed` takes model inputs made by decode.ts and returns raw embeddings. */
export class EmbeddingModel {
  private constructor(
    readonly manifest: ModelManifest,
    private readonly session: ort.InferenceSession,
    readonly provider: ProviderInfo,
  ) {}

  static async open(options: EmbeddingModelOptions = {}): Promise<EmbeddingModel> {
    const modelDir = options.modelDir ?? DEFAULT_MODEL_DIR;
    const log = options.log ?? (() => {});
    const manifest = await loadManifest(modelDir);
    const bytes = await readVerifiedModel(modelDir, manifest);
    const requested = options.provider ?? 'auto';
    ort.env.logLevel = 'fatal'; // a provider that is absent is expected; its failure is reported below instead
    const candidates = requested === 'auto' ? PROVIDER_ORDER : [requested, ...(requested === 'cpu' ? [] : ['cpu' as const])];
    const attempts: ProviderAttempt[] = [];
    for (const provider of candidates) {
      try {
        const session = await ort.InferenceSession.create(bytes, { executionProviders: [provider], graphOptimizationLevel: 'all', logSeverityLevel: 4 });
        attempts.push({ provider, ok: true, reason: null });
        log(`embedding model ${manifest.name} runs on the ${provider} execution provider`);
        return new EmbeddingModel(manifest, session, { requested, active: provider, attempts });
      } catch (error) {
        const reason = firstLine((error as Error).message);
        attempts.push({ provider, ok: false, reason });
        log(`execution provider ${provider} is not available, falling back: ${reason}`);
      }
    }
    throw new Error(`no execution provider could run the model: ${attempts.map((a) => `${a.provider}: ${a.reason}`).join('; ')}`);
  }

  get dimension(): number {
    return this.manifest.output.dimension;
  }

  /** Images per inference call: larger batches were slower on CPU (docs/BENCHMARKS.md). */
  maxBatch = 16;

  /** Embeds inputs (each width×height×3 floats, RGB 0..255), maxBatch images per inference call. */
  async embed(inputs: Float32Array[]): Promise<Float32Array[]> {
    const result: Float32Array[] = [];
    for (let start = 0; start < inputs.length; start += this.maxBatch) result.push(...(await this.embedBatch(inputs.slice(start, start + this.maxBatch))));
    return result;
  }

  private async embedBatch(inputs: Float32Array[]): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    const { width, height, layout, name, valueRange } = this.manifest.input;
    const perImage = width * height * 3;
    const batch = new Float32Array(perImage * inputs.length);
    inputs.forEach((input, i) => {
      if (input.length !== perImage) throw new Error(`model input has ${input.length} values, expected ${perImage}`);
      batch.set(layout === 'NHWC' ? input : nhwcToNchw(input, width, height), i * perImage);
    });
    // Inputs arrive as 0..255; scale to the model's range when it wants another (e.g. [0, 1] or [-1, 1]).
    const [low, high] = valueRange;
    if (low !== 0 || high !== 255) {
      const scale = (high - low) / 255;
      for (let i = 0; i < batch.length; i++) batch[i] = low + batch[i] * scale;
    }
    const dims = layout === 'NHWC' ? [inputs.length, height, width, 3] : [inputs.length, 3, height, width];
    const outputs = await this.session.run({ [name]: new ort.Tensor('float32', batch, dims) });
    const output = outputs[this.manifest.output.name];
    const data = output.data as Float32Array;
    const dim = this.dimension;
    const result: Float32Array[] = [];
    for (let i = 0; i < inputs.length; i++) result.push(data.slice(i * dim, (i + 1) * dim));
    output.dispose?.();
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function nhwcToNchw(input: Float32Array, width: number, height: number): Float32Array {
  const out = new Float32Array(input.length);
  const plane = width * height;
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[c * plane + p] = input[p * 3 + c];
  return out;
}

function firstLine(message: string): string {
  const line = message.split('\n').find((l) => l.trim()) ?? message;
  return line.length > 300 ? line.slice(0, 300) + '…' : line;
}
