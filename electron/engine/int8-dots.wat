;; Dot products of one int8 vector with many, four times eight lanes at a time (WebAssembly SIMD):
;; the exact scan of the vector index's coarse lists (lsh.ts, int8-dots.ts). Compiled by
;; `npm run build:wasm` (wabt) into int8-dots-wasm.ts; tests/int8-dots.test.ts checks the two agree.
(module
  (memory (export "memory") 1)

  ;; out[i] = sum over j < dim of query[j] * rows[i * dim + j], for i < count.
  ;; query, rows: int8; out: int32; dim: a multiple of 16 (at most 2^16 keeps the sums exact).
  (func (export "dots") (param $query i32) (param $rows i32) (param $count i32) (param $dim i32) (param $out i32)
    (local $i i32) (local $j i32) (local $acc v128) (local $q v128) (local $r v128)
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $rowDone
          (loop $chunk
            (br_if $rowDone (i32.ge_u (local.get $j) (local.get $dim)))
            (local.set $q (v128.load (i32.add (local.get $query) (local.get $j))))
            (local.set $r (v128.load (i32.add (local.get $rows) (local.get $j))))
            ;; widen to 16 bits, multiply and add neighbouring pairs into 32-bit lanes
            (local.set $acc (i32x4.add (local.get $acc)
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (i16x8.extend_low_i8x16_s (local.get $r)))))
            (local.set $acc (i32x4.add (local.get $acc)
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (i16x8.extend_high_i8x16_s (local.get $r)))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $chunk)))
        (i32.store (local.get $out)
          (i32.add
            (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
            (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
        (local.set $rows (i32.add (local.get $rows) (local.get $dim)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row)))))
