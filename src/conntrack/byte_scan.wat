;; Byte-level helpers for the audit parser, in WebAssembly with 128-bit SIMD.
;; Built into src/conntrack/byte_scan_wasm.ts by scripts/build_wasm.sh (wat2wasm from wabt).
;; The caller reads file data straight into the exported memory and passes offsets into it.
(module
  (memory (export "memory") 48)

;; Number of newline bytes in [p, p + n). Matches are summed per byte lane (each i8x16.eq
  ;; lane is 0 or -1) for up to 255 blocks of 16 bytes, then added up across lanes.
  (func (export "count_newlines") (param $p i32) (param $n i32) (result i32)
    (local $end i32) (local $c i32) (local $nl v128) (local $acc v128) (local $k i32)
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (local.set $nl (i8x16.splat (i32.const 10)))
    (block $wide_done
      (loop $wide
        (br_if $wide_done (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
        (local.set $acc (v128.const i64x2 0 0))
        (local.set $k (i32.const 0))
        (block $batch_done
          (loop $batch
            (br_if $batch_done (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
            (br_if $batch_done (i32.eq (local.get $k) (i32.const 255)))
            (local.set $acc
              (i8x16.sub (local.get $acc) (i8x16.eq (v128.load (local.get $p)) (local.get $nl))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $batch)))
        (local.set $acc (i16x8.extadd_pairwise_i8x16_u (local.get $acc)))
        (local.set $acc (i32x4.extadd_pairwise_i16x8_u (local.get $acc)))
        (local.set $c
          (i32.add (local.get $c)
            (i32.add
              (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
              (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc))))))
        (br $wide)))
    (block $done
      (loop $narrow
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 10))
          (then (local.set $c (i32.add (local.get $c) (i32.const 1)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $narrow)))
    (local.get $c))

    ;; True when the five bytes at $i are "NECT," or "USER,".
  (func $is_marker (param $i i32) (result i32)
    (local $w i32)
    (local.set $w (i32.load align=1 (local.get $i)))
    (i32.and
      (i32.eq (i32.load8_u offset=4 (local.get $i)) (i32.const 44))
      (i32.or
        (i32.eq (local.get $w) (i32.const 0x5443454e))   ;; "NECT" little-endian
        (i32.eq (local.get $w) (i32.const 0x52455355)))))  ;; "USER"

;; Writes the positions of "NECT," and "USER," in [p, p + n) as i32 at $out, at most $max of
  ;; them, and returns how many were written (resume after the last one when it equals $max).
  ;; 32 bytes per round: a byte is a candidate when the byte 3 after it is 'T' or 'R' and the
  ;; byte 4 after it is ','; rounds without any candidate (nearly all) cost two tests.
  (func (export "find_markers") (param $p i32) (param $n i32) (param $out i32) (param $max i32)
    (result i32)
    (local $end i32) (local $k i32) (local $m i32) (local $i i32)
    (local $a v128) (local $b v128) (local $t v128) (local $r v128) (local $c v128)
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (local.set $t (i8x16.splat (i32.const 84)))   ;; 'T'
    (local.set $r (i8x16.splat (i32.const 82)))   ;; 'R'
    (local.set $c (i8x16.splat (i32.const 44)))   ;; ','
    (block $wide_done
      (loop $wide
        (br_if $wide_done (i32.gt_u (i32.add (local.get $p) (i32.const 36)) (local.get $end)))
        (local.set $a
          (v128.and
            (v128.or
              (i8x16.eq (v128.load offset=3 (local.get $p)) (local.get $t))
              (i8x16.eq (v128.load offset=3 (local.get $p)) (local.get $r)))
            (i8x16.eq (v128.load offset=4 (local.get $p)) (local.get $c))))
        (local.set $b
          (v128.and
            (v128.or
              (i8x16.eq (v128.load offset=19 (local.get $p)) (local.get $t))
              (i8x16.eq (v128.load offset=19 (local.get $p)) (local.get $r)))
            (i8x16.eq (v128.load offset=20 (local.get $p)) (local.get $c))))
        (if (v128.any_true (v128.or (local.get $a) (local.get $b)))
          (then
            (local.set $m
              (i32.or
                (i8x16.bitmask (local.get $a))
                (i32.shl (i8x16.bitmask (local.get $b)) (i32.const 16))))
            (block $bits_done
              (loop $bits
                (br_if $bits_done (i32.eqz (local.get $m)))
                (local.set $i (i32.add (local.get $p) (i32.ctz (local.get $m))))
                (if (call $is_marker (local.get $i))
                  (then
                    (i32.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2)))
                      (local.get $i))
                    (local.set $k (i32.add (local.get $k) (i32.const 1)))
                    (if (i32.eq (local.get $k) (local.get $max)) (then (return (local.get $k))))))
                (local.set $m (i32.and (local.get $m) (i32.sub (local.get $m) (i32.const 1))))
                (br $bits)))))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (br $wide)))
    (block $done
      (loop $narrow
        (br_if $done (i32.gt_u (i32.add (local.get $p) (i32.const 5)) (local.get $end)))
        (if (call $is_marker (local.get $p))
          (then
            (i32.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2)))
              (local.get $p))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (if (i32.eq (local.get $k) (local.get $max)) (then (return (local.get $k))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $narrow)))
    (local.get $k))

;; Index of the last newline in [0, $p), or -1: 16 bytes at a time, then byte by byte.
  (func $last_newline (param $p i32) (result i32)
    (local $nl v128) (local $m i32)
    (local.set $nl (i8x16.splat (i32.const 10)))
    (block $wide_done
      (loop $wide
        (br_if $wide_done (i32.lt_u (local.get $p) (i32.const 16)))
        (local.set $m
          (i8x16.bitmask
            (i8x16.eq (v128.load (i32.sub (local.get $p) (i32.const 16))) (local.get $nl))))
        (if (local.get $m)
          (then
            (return
              (i32.sub (i32.sub (local.get $p) (i32.const 16))
                (i32.sub (i32.clz (local.get $m)) (i32.const 31))))))
        (local.set $p (i32.sub (local.get $p) (i32.const 16)))
        (br $wide)))
    (block $done
      (loop $narrow
        (br_if $done (i32.eqz (local.get $p)))
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 10)) (then (return (local.get $p))))
        (br $narrow)))
    (i32.const -1))

  ;; Index of the first newline in [$p, $end), or $end: 16 bytes at a time, then byte by byte.
  (func $next_newline (param $p i32) (param $end i32) (result i32)
    (local $nl v128) (local $m i32)
    (local.set $nl (i8x16.splat (i32.const 10)))
    (block $wide_done
      (loop $wide
        (br_if $wide_done (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
        (local.set $m (i8x16.bitmask (i8x16.eq (v128.load (local.get $p)) (local.get $nl))))
        (if (local.get $m)
          (then (return (i32.add (local.get $p) (i32.ctz (local.get $m))))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $wide)))
    (block $done
      (loop $narrow
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (br_if $done (i32.eq (i32.load8_u (local.get $p)) (i32.const 10)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $narrow)))
    (local.get $p))

  ;; For the $k positions stored as i32 at $hits, writes the start of each one's line (the byte
  ;; after the previous newline, or 0) at $starts, its end (the next newline before $end, or
  ;; $end) at $ends, and the start of the line before it (0 when there is none) at $prevs: what
  ;; lastIndexOf and indexOf would give, without a call per position.
  (func (export "line_bounds") (param $hits i32) (param $k i32) (param $end i32)
    (param $starts i32) (param $ends i32) (param $prevs i32)
    (local $j i32) (local $i i32) (local $s i32) (local $e i32) (local $q i32) (local $last i32)
    (local $o i32)
    (local.set $last (i32.const -1))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $j) (local.get $k)))
        (local.set $o (i32.shl (local.get $j) (i32.const 2)))
        (local.set $i (i32.load (i32.add (local.get $hits) (local.get $o))))
        (if (i32.lt_s (local.get $i) (local.get $last))
          (then nop) ;; same line as the previous position: same bounds
          (else
            (local.set $s (i32.add (call $last_newline (local.get $i)) (i32.const 1)))
            (local.set $e (call $next_newline (local.get $i) (local.get $end)))
            (local.set $q
              (if (result i32) (i32.ge_u (local.get $s) (i32.const 2))
                (then
                  (i32.add (call $last_newline (i32.sub (local.get $s) (i32.const 1)))
                    (i32.const 1)))
                (else (i32.const 0))))
            (local.set $last (local.get $e))))
        (i32.store (i32.add (local.get $starts) (local.get $o)) (local.get $s))
        (i32.store (i32.add (local.get $ends) (local.get $o)) (local.get $e))
        (i32.store (i32.add (local.get $prevs) (local.get $o)) (local.get $q))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $each)))))
