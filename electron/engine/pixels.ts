// Area-average resampling of grey images in plain JavaScript: the crop windows' and the detail
// hash's grey images are cut from the 128×128 grey image of every photo (decode.ts), 56 times per
// photo, so this runs often. Separable (across, then down), with each axis's weights computed once
// per call instead of once per pixel.

type Spans = { index: Int32Array; weight: Float64Array }[];

/** Spans by geometry: every photo cuts its windows at the same places, so they are made once. */
const spansCache = new Map<string, Spans>();

function cachedSpans(start: number, side: number, out: number, size: number): Spans {
  const key = `${start} ${side} ${out} ${size}`;
  let spans = spansCache.get(key);
  if (!spans) {
    if (spansCache.size >= 1000) spansCache.clear(); // bounded, should callers vary the geometry
    spans = cellSpans(start, side, out, size);
    spansCache.set(key, spans);
  }
  return spans;
}

/** For each output cell along one axis: the source indices it covers and the share of each (summing to 1). */
function cellSpans(start: number, side: number, out: number, size: number): Spans {
  const step = side / out;
  return Array.from({ length: out }, (_, o) => {
    const from = start + o * step;
    const to = from + step;
    const first = Math.max(0, Math.floor(from));
    const last = Math.min(size, Math.ceil(to));
    const index = new Int32Array(last - first);
    const weight = new Float64Array(last - first);
    let total = 0;
    for (let s = first; s < last; s++) {
      const w = Math.min(s + 1, to) - Math.max(s, from);
      index[s - first] = s;
      weight[s - first] = w;
      total += w;
    }
    for (let k = 0; k < weight.length; k++) weight[k] /= total || 1;
    return { index, weight };
  });
}

/**
 * Area-average resampling of the square region (left, top, side) of a square grey image to out×out:
 * each source pixel counts by how much of it an output cell covers. Separable: across, then down.
 */
export function boxResample(source: Float64Array, size: number, left: number, top: number, side: number, out: number): Float64Array {
  const across = cachedSpans(left, side, out, size);
  const down = cachedSpans(top, side, out, size);
  const firstRow = down[0].index[0];
  const lastRow = down[out - 1].index[down[out - 1].index.length - 1];
  // Pass 1: every covered row, resampled across to `out` values.
  const rows = new Float64Array((lastRow - firstRow + 1) * out);
  for (let y = firstRow; y <= lastRow; y++) {
    const row = y * size;
    const target = (y - firstRow) * out;
    for (let o = 0; o < out; o++) {
      const { index, weight } = across[o];
      let sum = 0;
      for (let k = 0; k < index.length; k++) sum += source[row + index[k]] * weight[k];
      rows[target + o] = sum;
    }
  }
  // Pass 2: down the columns.
  const result = new Float64Array(out * out);
  for (let o = 0; o < out; o++) {
    const { index, weight } = down[o];
    for (let x = 0; x < out; x++) {
      let sum = 0;
      for (let k = 0; k < index.length; k++) sum += rows[(index[k] - firstRow) * out + x] * weight[k];
      result[o * out + x] = sum;
    }
  }
  return result;
}
