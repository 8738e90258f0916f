;; Dot products of one int8 vector with many, four times eight lanes at a time (WebAssembly SIMD):
;; the exact scan of the vector index's coarse lists (lsh.ts, int8-dots.ts). Compiled by
;; `npm run build:wasm` (wabt) into int8-dots-wasm.ts; tests/int8-dots.test.ts checks the two agree.
(module
  (memory (export "memory") 1)

  ;; sum over j < dim of query[j] * row[j]; query, row: int8; dim: a multiple of 16 (at most 2^16
  ;; keeps the sum exact).
  (func $dot (param $query i32) (param $row i32) (param $dim i32) (result i32)
    (local $j i32) (local $acc v128) (local $q v128) (local $r v128)
    (block $done
      (loop $chunk
        (br_if $done (i32.ge_u (local.get $j) (local.get $dim)))
        (local.set $q (v128.load (i32.add (local.get $query) (local.get $j))))
        (local.set $r (v128.load (i32.add (local.get $row) (local.get $j))))
        ;; widen to 16 bits, multiply and add neighbouring pairs into 32-bit lanes
        (local.set $acc (i32x4.add (local.get $acc)
          (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (i16x8.extend_low_i8x16_s (local.get $r)))))
        (local.set $acc (i32x4.add (local.get $acc)
          (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (i16x8.extend_high_i8x16_s (local.get $r)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $chunk)))
    (call $sum4 (local.get $acc)))

  ;; out[i] = dot(query, row i), for i < count; row i starts at rows + i * stride. out: int32.
  (func (export "dots") (param $query i32) (param $rows i32) (param $count i32) (param $dim i32) (param $stride i32) (param $out i32)
    (local $i i32)
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (i32.store (local.get $out) (call $dot (local.get $query) (local.get $rows) (local.get $dim)))
        (local.set $rows (i32.add (local.get $rows) (local.get $stride)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row))))

  ;; A row's score: dot * scale * a + offset * b + c, where a, b, c are the three float32 stored
  ;; right after its dim int8 values (at $floats).
  (func $score (param $d i32) (param $floats i32) (param $scale f32) (param $offset f32) (result f32)
    (f32.add
      (f32.add
        (f32.mul (f32.mul (f32.convert_i32_s (local.get $d)) (local.get $scale)) (f32.load (local.get $floats)))
        (f32.mul (local.get $offset) (f32.load offset=4 (local.get $floats))))
      (f32.load offset=8 (local.get $floats))))

  ;; The rows i < count (at rows + i * stride) whose score beats `bar`: writes (i, dot) int32 pairs
  ;; at out for them, in order, and returns how many.
  (func (export "above") (param $query i32) (param $rows i32) (param $count i32) (param $dim i32) (param $stride i32)
    (param $scale f32) (param $offset f32) (param $bar f32) (param $out i32) (result i32)
    (local $i i32) (local $n i32) (local $d i32)
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $d (call $dot (local.get $query) (local.get $rows) (local.get $dim)))
        (if (f32.gt (call $score (local.get $d) (i32.add (local.get $rows) (local.get $dim)) (local.get $scale) (local.get $offset)) (local.get $bar))
          (then
            (i32.store (local.get $out) (local.get $i))
            (i32.store offset=4 (local.get $out) (local.get $d))
            (local.set $out (i32.add (local.get $out) (i32.const 8)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $rows (i32.add (local.get $rows) (local.get $stride)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row)))
    (local.get $n))

  ;; The same for the rows named by an index list: row indices[i] (int32) for i < count, at
  ;; rows + indices[i] * stride; the pairs hold i, not the row.
  (func (export "aboveAt") (param $query i32) (param $rows i32) (param $indices i32) (param $count i32) (param $dim i32) (param $stride i32)
    (param $scale f32) (param $offset f32) (param $bar f32) (param $out i32) (result i32)
    (local $i i32) (local $n i32) (local $d i32) (local $row i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $row (i32.add (local.get $rows)
          (i32.mul (i32.load (i32.add (local.get $indices) (i32.shl (local.get $i) (i32.const 2)))) (local.get $stride))))
        (local.set $d (call $dot (local.get $query) (local.get $row) (local.get $dim)))
        (if (f32.gt (call $score (local.get $d) (i32.add (local.get $row) (local.get $dim)) (local.get $scale) (local.get $offset)) (local.get $bar))
          (then
            (i32.store (local.get $out) (local.get $i))
            (i32.store offset=4 (local.get $out) (local.get $d))
            (local.set $out (i32.add (local.get $out) (i32.const 8)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $n))

  ;; The four 32-bit lanes of v added up.
  (func $sum4 (param $v v128) (result i32)
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v)))
      (i32.add (i32x4.extract_lane 2 (local.get $v)) (i32x4.extract_lane 3 (local.get $v)))))

  ;; Copies the dim int8 values at $from to $to as 16-bit values, in the order $nearest reads them:
  ;; for each 16 values, the low eight widened, then the high eight.
  (func $widen (param $from i32) (param $to i32) (param $dim i32)
    (local $j i32) (local $v v128)
    (block $done
      (loop $chunk
        (br_if $done (i32.ge_u (local.get $j) (local.get $dim)))
        (local.set $v (v128.load (i32.add (local.get $from) (local.get $j))))
        (v128.store (local.get $to) (i16x8.extend_low_i8x16_s (local.get $v)))
        (v128.store offset=16 (local.get $to) (i16x8.extend_high_i8x16_s (local.get $v)))
        (local.set $to (i32.add (local.get $to) (i32.const 32)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $chunk))))

  ;; For each of the count vectors at $items (dim int8 values each, end to end), the row r < rowCount
  ;; (at rows + r * stride) with the highest dot * weights[r] (float32), the first of equals: its
  ;; index, as int32 at out. Four vectors at a time, widened to 16 bits once (into 8 * dim bytes at
  ;; $wide), so that each row is loaded and widened once for the four: the coarse lists' filing.
  (func (export "nearest") (param $items i32) (param $count i32) (param $rows i32) (param $rowCount i32)
    (param $dim i32) (param $stride i32) (param $weights i32) (param $wide i32) (param $out i32)
    (local $i i32) (local $k i32) (local $j i32) (local $r i32) (local $row i32) (local $end i32)
    (local $w1 i32) (local $w2 i32) (local $w3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $v v128) (local $lo v128) (local $hi v128)
    (local $weight f32) (local $s f32)
    (local $b0 f32) (local $b1 f32) (local $b2 f32) (local $b3 f32)
    (local $n0 i32) (local $n1 i32) (local $n2 i32) (local $n3 i32)
    (local.set $w1 (i32.add (local.get $wide) (i32.mul (local.get $dim) (i32.const 2))))
    (local.set $w2 (i32.add (local.get $wide) (i32.mul (local.get $dim) (i32.const 4))))
    (local.set $w3 (i32.add (local.get $wide) (i32.mul (local.get $dim) (i32.const 6))))
    (local.set $end (i32.mul (local.get $dim) (i32.const 2)))
    (block $allDone
      (loop $block
        (br_if $allDone (i32.ge_u (local.get $i) (local.get $count)))
        ;; widen vectors i .. i + 3; past the end, the last vector again
        (local.set $k (i32.const 0))
        (block $widened
          (loop $each
            (br_if $widened (i32.ge_u (local.get $k) (i32.const 4)))
            (call $widen
              (i32.add (local.get $items)
                (i32.mul (select (i32.add (local.get $i) (local.get $k)) (i32.sub (local.get $count) (i32.const 1))
                                 (i32.lt_u (i32.add (local.get $i) (local.get $k)) (local.get $count)))
                         (local.get $dim)))
              (i32.add (local.get $wide) (i32.mul (local.get $k) (local.get $end)))
              (local.get $dim))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $each)))
        (local.set $b0 (f32.const -inf)) (local.set $b1 (f32.const -inf))
        (local.set $b2 (f32.const -inf)) (local.set $b3 (f32.const -inf))
        (local.set $n0 (i32.const 0)) (local.set $n1 (i32.const 0))
        (local.set $n2 (i32.const 0)) (local.set $n3 (i32.const 0))
        (local.set $r (i32.const 0))
        (local.set $row (local.get $rows))
        (block $rowsDone
          (loop $nextRow
            (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rowCount)))
            (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $j (i32.const 0))
            (block $dotsDone
              (loop $chunk
                (br_if $dotsDone (i32.ge_u (local.get $j) (local.get $end)))
                (local.set $v (v128.load (i32.add (local.get $row) (i32.shr_u (local.get $j) (i32.const 1)))))
                (local.set $lo (i16x8.extend_low_i8x16_s (local.get $v)))
                (local.set $hi (i16x8.extend_high_i8x16_s (local.get $v)))
                (local.set $a0 (i32x4.add (local.get $a0) (i32x4.add
                  (i32x4.dot_i16x8_s (v128.load (i32.add (local.get $wide) (local.get $j))) (local.get $lo))
                  (i32x4.dot_i16x8_s (v128.load offset=16 (i32.add (local.get $wide) (local.get $j))) (local.get $hi)))))
                (local.set $a1 (i32x4.add (local.get $a1) (i32x4.add
                  (i32x4.dot_i16x8_s (v128.load (i32.add (local.get $w1) (local.get $j))) (local.get $lo))
                  (i32x4.dot_i16x8_s (v128.load offset=16 (i32.add (local.get $w1) (local.get $j))) (local.get $hi)))))
                (local.set $a2 (i32x4.add (local.get $a2) (i32x4.add
                  (i32x4.dot_i16x8_s (v128.load (i32.add (local.get $w2) (local.get $j))) (local.get $lo))
                  (i32x4.dot_i16x8_s (v128.load offset=16 (i32.add (local.get $w2) (local.get $j))) (local.get $hi)))))
                (local.set $a3 (i32x4.add (local.get $a3) (i32x4.add
                  (i32x4.dot_i16x8_s (v128.load (i32.add (local.get $w3) (local.get $j))) (local.get $lo))
                  (i32x4.dot_i16x8_s (v128.load offset=16 (i32.add (local.get $w3) (local.get $j))) (local.get $hi)))))
                (local.set $j (i32.add (local.get $j) (i32.const 32)))
                (br $chunk)))
            (local.set $weight (f32.load (i32.add (local.get $weights) (i32.shl (local.get $r) (i32.const 2)))))
            (local.set $s (f32.mul (f32.convert_i32_s (call $sum4 (local.get $a0))) (local.get $weight)))
            (if (f32.gt (local.get $s) (local.get $b0)) (then (local.set $b0 (local.get $s)) (local.set $n0 (local.get $r))))
            (local.set $s (f32.mul (f32.convert_i32_s (call $sum4 (local.get $a1))) (local.get $weight)))
            (if (f32.gt (local.get $s) (local.get $b1)) (then (local.set $b1 (local.get $s)) (local.set $n1 (local.get $r))))
            (local.set $s (f32.mul (f32.convert_i32_s (call $sum4 (local.get $a2))) (local.get $weight)))
            (if (f32.gt (local.get $s) (local.get $b2)) (then (local.set $b2 (local.get $s)) (local.set $n2 (local.get $r))))
            (local.set $s (f32.mul (f32.convert_i32_s (call $sum4 (local.get $a3))) (local.get $weight)))
            (if (f32.gt (local.get $s) (local.get $b3)) (then (local.set $b3 (local.get $s)) (local.set $n3 (local.get $r))))
            (local.set $row (i32.add (local.get $row) (local.get $stride)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $nextRow)))
        ;; the block's answers, for the vectors that exist
        (i32.store (local.get $out) (local.get $n0))
        (if (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $count)) (then (i32.store offset=4 (local.get $out) (local.get $n1))))
        (if (i32.lt_u (i32.add (local.get $i) (i32.const 2)) (local.get $count)) (then (i32.store offset=8 (local.get $out) (local.get $n2))))
        (if (i32.lt_u (i32.add (local.get $i) (i32.const 3)) (local.get $count)) (then (i32.store offset=12 (local.get $out) (local.get $n3))))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $block)))))
