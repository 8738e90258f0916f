// Synthetic embeddings that imitate the model's on the dev photos (docs: /work/shared/notes), for the
// benchmarks that need a library far larger than the 332 real photos: bench/index-bench.ts (the
// vector index alone) and bench/regroup-bench.ts (regrouping a whole catalog).
//
// Raw vectors are non-negative (ReLU) in full mode, unrelated photos sit near raw cosine 0.47,
// photos are grouped into topics and events (bursts at ~0.8), and there are planted near-duplicates
// (0.88-0.98) and "similar" pairs (0.75-0.86). In reduced mode (256 dims) the same model is drawn
// without the ReLU, which skips the index's projection (index-bench measures its cost in full mode).
import { mulberry32 } from '../electron/engine/lsh.ts';

export interface Planted {
  a: number;
  b: number;
  kind: 'near' | 'similar';
}

export class SyntheticEmbeddings {
  /** The seeded random source; the benches draw their own choices (queries, samples) from it too. */
  readonly rand: () => number;
  private spare: number | null = null;
  // Per-dimension profile: a positive base (what all photos share) and unequal spreads.
  private readonly base: Float64Array;
  private readonly sigma: Float64Array;
  private readonly contentScale: number;

  constructor(
    readonly dim: number,
    private readonly nonNegative: boolean,
    seed: number,
  ) {
    this.rand = mulberry32(seed);
    this.base = new Float64Array(dim);
    this.sigma = new Float64Array(dim);
    let baseSq = 0;
    let sigmaSq = 0;
    for (let i = 0; i < dim; i++) {
      this.base[i] = Math.exp(0.6 * this.gauss());
      this.sigma[i] = Math.exp(0.5 * this.gauss());
      baseSq += this.base[i] * this.base[i];
      sigmaSq += this.sigma[i] * this.sigma[i];
    }
    // Content scale so that unrelated photos land near cosine 0.47 (tuned once; index-bench prints it).
    this.contentScale = Math.sqrt((baseSq * (nonNegative ? 4.5 : 1.13) * dim) / sigmaSq);
  }

  gauss(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.rand();
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * this.rand();
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }

  randomDirection(): Float64Array {
    const v = new Float64Array(this.dim);
    for (let i = 0; i < this.dim; i++) v[i] = this.gauss() / Math.sqrt(this.dim);
    return v;
  }

  /** Raw vector from a content direction u: base + scale * sigma * u, clipped at 0 when non-negative. */
  render(u: Float64Array, out: Float32Array, offset: number): void {
    for (let i = 0; i < this.dim; i++) {
      const x = this.base[i] + this.contentScale * this.sigma[i] * u[i];
      out[offset + i] = this.nonNegative && x < 0 ? 0 : x;
    }
  }

  /** u + eps * noise: the content of an edited copy. */
  perturb(u: Float64Array, eps: number): Float64Array {
    const v = new Float64Array(this.dim);
    for (let i = 0; i < this.dim; i++) v[i] = u[i] + (eps * this.gauss()) / Math.sqrt(this.dim);
    return v;
  }

  /**
   * n raw vectors (row after row) and the planted pairs. Content is topic (1 per 1000 photos) +
   * event (bursts of 2-30, half the photos alone) + own noise: event-mates land near raw 0.79,
   * topic-mates near 0.6. 5 % of photos get 1-3 edited copies, 5 % a "similar" sibling.
   * Also, by row: its event (bursts share one) and the row it is an edited copy of (-1: none; a
   * "similar" sibling is not a copy).
   */
  generate(n: number): { data: Float32Array; planted: Planted[]; eventOf: Int32Array; copyOf: Int32Array } {
    const { dim, rand } = this;
    const data = new Float32Array(n * dim);
    const planted: Planted[] = [];
    const eventOf = new Int32Array(n);
    const copyOf = new Int32Array(n).fill(-1);
    let events = 0;
    const topicCount = Math.max(20, Math.round(n / 1000));
    const topicVectors: Float64Array[] = [];
    for (let t = 0; t < topicCount; t++) topicVectors.push(this.randomDirection());
    const [wTopic, wEvent, wOwn] = [Math.sqrt(0.25), Math.sqrt(0.35), Math.sqrt(0.4)];
    let count = 0;
    const push = (u: Float64Array): number => {
      this.render(u, data, count * dim);
      eventOf[count] = events;
      return count++;
    };
    while (count < n) {
      // An event (burst, same scene): 1-30 photos of one topic, half of them singletons.
      const topic = topicVectors[Math.floor(rand() * topicCount)];
      const event = this.randomDirection();
      const size = rand() < 0.5 ? 1 : 2 + Math.floor(-Math.log(1 - rand()) * 4);
      events++;
      for (let m = 0; m < size && count < n; m++) {
        const own = this.randomDirection();
        const u = new Float64Array(dim);
        for (let i = 0; i < dim; i++) u[i] = wTopic * topic[i] + wEvent * event[i] + wOwn * own[i];
        const original = push(u);
        if (rand() < 0.05) {
          const copies = 1 + Math.floor(rand() * rand() * 3);
          const group = [original];
          for (let c = 0; c < copies && count < n; c++) {
            const copy = push(this.perturb(u, epsFor(0.88 + 0.1 * rand())));
            copyOf[copy] = original;
            group.push(copy);
          }
          for (let i = 0; i < group.length; i++) for (let j = i + 1; j < group.length; j++) planted.push({ a: group[i], b: group[j], kind: 'near' });
        }
        if (rand() < 0.05 && count < n) planted.push({ a: original, b: push(this.perturb(u, epsFor(0.75 + 0.11 * rand()))), kind: 'similar' });
      }
    }
    return { data, planted, eventOf, copyOf };
  }
}

/** Noise level that gives roughly raw cosine c (centred cosine ~ (c - 0.47) / 0.53). */
function epsFor(rawCosine: number): number {
  const centred = (rawCosine - 0.47) / 0.53;
  return Math.sqrt(1 / (centred * centred) - 1);
}
