// Area-average resampling of grey images in plain JavaScript: the crop windows' and the detail
// hash's grey images are cut from the 128×128 grey image of every photo (decode.ts), 55 times per
// photo, so this runs often. Separable (across, then down), with each axis's weights computed once
// per geometry and kept in flat typed arrays.

/**
 * For each output cell along one axis: the first source index it covers, how many it covers, and
 * the share of each (summing to 1), all cells' shares end to end in `weights` from `offset[o]`.
 */
interface Spans {
  first: Int32Array;
  count: Int32Array;
  offset: Int32Array;
  weights: Float64Array;
}

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

function cellSpans(start: number, side: number, out: number, size: number): Spans {
  const step = side / out;
  const first = new Int32Array(out);
  const count = new Int32Array(out);
  const offset = new Int32Array(out);
  const weights: number[] = [];
  for (let o = 0; o < out; o++) {
    const from = start + o * step;
    const to = from + step;
    first[o] = Math.max(0, Math.floor(from));
    const last = Math.min(size, Math.ceil(to));
    count[o] = last - first[o];
    offset[o] = weights.length;
    let total = 0;
    for (let s = first[o]; s < last; s++) {
      const w = Math.min(s + 1, to) - Math.max(s, from);
      weights.push(w);
      total += w;
    }
    for (let k = offset[o]; k < weights.length; k++) weights[k] /= total || 1;
  }
  return { first, count, offset, weights: Float64Array.from(weights) };
}

/**
 * Area-average resampling of the square region (left, top, side) of a square grey image to out×out:
 * each source pixel counts by how much of it an output cell covers. Separable: across, then down.
 */
export function boxResample(source: Float64Array, size: number, left: number, top: number, side: number, out: number): Float64Array {
  const down = cachedSpans(top, side, out, size);
  const firstRow = down.first[0];
  const lastRow = down.first[out - 1] + down.count[out - 1] - 1;
  return resampleDown(resampleAcross(source, size, cachedSpans(left, side, out, size), firstRow, lastRow), down, out, firstRow);
}

export interface SquareRegion {
  left: number;
  top: number;
  side: number;
}

/**
 * boxResample of several regions of one image. Regions with the same columns (left and side) share
 * the pass across, which is most of the work: the crop windows come in threes down a column.
 */
export function boxResampleRegions(source: Float64Array, size: number, regions: SquareRegion[], out: number): Float64Array[] {
  const acrossByColumns = new Map<string, Float64Array>();
  return regions.map(({ left, top, side }) => {
    const key = `${left} ${side}`;
    let across = acrossByColumns.get(key);
    if (!across) {
      across = resampleAcross(source, size, cachedSpans(left, side, out, size), 0, size - 1);
      acrossByColumns.set(key, across);
    }
    return resampleDown(across, cachedSpans(top, side, out, size), out, 0);
  });
}

/** Pass 1: rows firstRow..lastRow of the source, each resampled across to `out` values. */
function resampleAcross(source: Float64Array, size: number, across: Spans, firstRow: number, lastRow: number): Float64Array {
  const out = across.first.length;
  const rows = new Float64Array((lastRow - firstRow + 1) * out);
  for (let y = firstRow; y <= lastRow; y++) {
    const target = (y - firstRow) * out;
    for (let o = 0; o < out; o++) {
      const from = y * size + across.first[o];
      const w = across.offset[o];
      let sum = 0;
      for (let k = 0, n = across.count[o]; k < n; k++) sum += source[from + k] * across.weights[w + k];
      rows[target + o] = sum;
    }
  }
  return rows;
}

/** Pass 2: down the columns of pass 1's rows (the first of which is source row `firstRow`). */
function resampleDown(rows: Float64Array, down: Spans, out: number, firstRow: number): Float64Array {
  const result = new Float64Array(out * out);
  for (let o = 0; o < out; o++) {
    const from = (down.first[o] - firstRow) * out;
    const w = down.offset[o];
    const n = down.count[o];
    for (let x = 0; x < out; x++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += rows[from + k * out + x] * down.weights[w + k];
      result[o * out + x] = sum;
    }
  }
  return result;
}
