// im2col on an already quantized and staged channels-last image, for int8 convolutions: the image is
// quantized once (h*w pixel rows of c staged values, eb bytes each: 2 for c2, 1 for c4) instead of
// every pixel kh*kw times after a float32 im2col. Each output row gets the kh*kw taps' pixel rows
// (or `pad`, the staged row of a zero pixel, outside the image), optionally once more (dup: the
// split-weight c4 layout's [x, x]), then zeros up to the row's kpBytes; its row sum is the sum of
// the taps' pixel sums (pixSum[h*w], padSum), doubled with dup: the same integers and sums the
// stagers write for the float32 im2col matrix.

export function q_im2col_nhwc(
  h: i32, w: i32, cBytes: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32,
  oh0: i32, oh1: i32, ow: i32, x: usize, pixSum: usize, pad: usize, padSum: i32, dup: i32, kpBytes: i32, out: usize, rowSum: usize,
): void {
  const run = <usize>cBytes;
  const kBytes = <usize>(kh * kw) * run;
  const xRowBytes = <usize>w * run;
  for (let oy = oh0; oy < oh1; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      const r = oy * ow + ox;
      const row = out + <usize>r * <usize>kpBytes;
      let dst = row;
      let s = 0;
      const ix0 = ox * sw - pl;
      for (let u = 0; u < kh; u++) {
        const iy = oy * sh - pt + u * dh;
        const rowIn = iy >= 0 && iy < h;
        for (let v = 0; v < kw; v++) {
          const ix = ix0 + v * dw;
          if (rowIn && ix >= 0 && ix < w) {
            const p = iy * w + ix;
            copyBytes(dst, x + <usize>iy * xRowBytes + <usize>ix * run, run);
            s += load<i32>(pixSum + (<usize>p << 2));
          } else {
            copyBytes(dst, pad, run);
            s += padSum;
          }
          dst += run;
        }
      }
      if (dup != 0) {
        copyBytes(dst, row, kBytes);
        dst += kBytes;
        s *= 2;
      }
      for (const end = row + <usize>kpBytes; dst < end; dst++) store<u8>(dst, 0);
      store<i32>(rowSum + (<usize>r << 2), s);
    }
  }
}

// n bytes from src to dst (not overlapping): 16 at a time, then 4, then 1
@inline function copyBytes(dst: usize, src: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) v128.store(dst + i, v128.load(src + i));
  for (; i + 4 <= n; i += 4) store<u32>(dst + i, load<u32>(src + i));
  for (; i < n; i++) store<u8>(dst + i, load<u8>(src + i));
}
