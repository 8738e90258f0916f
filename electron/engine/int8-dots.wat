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
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
      (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))

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
    (local.get $n)))
