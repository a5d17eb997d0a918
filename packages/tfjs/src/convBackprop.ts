/**
 * Plain typed-array implementations of the convolution backward kernels that the tfjs 4.22 wasm
 * backend lacks (internal: used by {@link enableWasmGradients}). Everything is channels-last (NHWC
 * images, `[filterHeight, filterWidth, inChannels, outChannels | multiplier]` filters) and follows
 * tfjs's `Conv2DInfo` geometry: output pixel (oh, ow) reads input pixel
 * `(oh·strideHeight − padTop + fh·dilationHeight, ow·strideWidth − padLeft + fw·dilationWidth)`;
 * reads outside the image are zero padding. Sums are accumulated in float64 and rounded once.
 */

/** The part of tfjs's `backend_util.Conv2DInfo` these kernels read. */
export interface ConvGeometry {
  readonly batchSize: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly inChannels: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly outChannels: number;
  readonly filterHeight: number;
  readonly filterWidth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
  readonly dilationHeight: number;
  readonly dilationWidth: number;
  readonly padInfo: { readonly top: number; readonly left: number };
}

/**
 * ∂L/∂W of a regular convolution: `dW[fh, fw, ci, co] = Σ_{b, oh, ow} x[b, ih, iw, ci] · dy[b, oh, ow, co]`
 * with (ih, iw) as in the module comment. `x` is `[B, H, W, Cin]`, `dy` is `[B, OH, OW, Cout]`;
 * returns `[FH, FW, Cin, Cout]`.
 */
export function conv2dBackpropFilterNHWC(x: Float32Array, dy: Float32Array, g: ConvGeometry): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: cin, outHeight, outWidth, outChannels: cout } = g;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = g;
  const acc = new Float64Array(filterHeight * filterWidth * cin * cout);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const ih0 = oh * strideHeight - g.padInfo.top;
      for (let ow = 0; ow < outWidth; ow++) {
        const iw0 = ow * strideWidth - g.padInfo.left;
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * cout;
        for (let fh = 0; fh < filterHeight; fh++) {
          const ih = ih0 + fh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          for (let fw = 0; fw < filterWidth; fw++) {
            const iw = iw0 + fw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            const xBase = ((b * inHeight + ih) * inWidth + iw) * cin;
            const wBase = (fh * filterWidth + fw) * cin * cout;
            for (let ci = 0; ci < cin; ci++) {
              const xv = x[xBase + ci] as number;
              if (xv === 0) continue;
              const row = wBase + ci * cout;
              for (let co = 0; co < cout; co++) acc[row + co]! += xv * (dy[dyBase + co] as number);
            }
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}

/**
 * ∂L/∂x of a depthwise convolution with channel multiplier M = outChannels / inChannels:
 * `dx[b, ih, iw, c] = Σ_{oh, ow, fh, fw, m} dy[b, oh, ow, c·M + m] · W[fh, fw, c, m]` over the
 * output pixels that read (ih, iw). `dy` is `[B, OH, OW, C·M]`, `filter` `[FH, FW, C, M]`; returns
 * `[B, H, W, C]`.
 */
export function depthwiseBackpropInputNHWC(dy: Float32Array, filter: Float32Array, g: ConvGeometry): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, outChannels } = g;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = g;
  const m = outChannels / c;
  const acc = new Float64Array(batchSize * inHeight * inWidth * c);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const ih0 = oh * strideHeight - g.padInfo.top;
      for (let ow = 0; ow < outWidth; ow++) {
        const iw0 = ow * strideWidth - g.padInfo.left;
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * outChannels;
        for (let fh = 0; fh < filterHeight; fh++) {
          const ih = ih0 + fh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          for (let fw = 0; fw < filterWidth; fw++) {
            const iw = iw0 + fw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            const xBase = ((b * inHeight + ih) * inWidth + iw) * c;
            const wBase = (fh * filterWidth + fw) * outChannels;
            if (m === 1) {
              for (let ch = 0; ch < c; ch++)
                acc[xBase + ch]! += (dy[dyBase + ch] as number) * (filter[wBase + ch] as number);
            } else {
              for (let ch = 0; ch < c; ch++) {
                let s = 0;
                for (let k = 0; k < m; k++)
                  s += (dy[dyBase + ch * m + k] as number) * (filter[wBase + ch * m + k] as number);
                acc[xBase + ch]! += s;
              }
            }
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}

/**
 * ∂L/∂W of a depthwise convolution: `dW[fh, fw, c, m] = Σ_{b, oh, ow} x[b, ih, iw, c] · dy[b, oh, ow, c·M + m]`.
 * `x` is `[B, H, W, C]`, `dy` `[B, OH, OW, C·M]`; returns `[FH, FW, C, M]`.
 */
export function depthwiseBackpropFilterNHWC(x: Float32Array, dy: Float32Array, g: ConvGeometry): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, outChannels } = g;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = g;
  const m = outChannels / c;
  const acc = new Float64Array(filterHeight * filterWidth * outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const ih0 = oh * strideHeight - g.padInfo.top;
      for (let ow = 0; ow < outWidth; ow++) {
        const iw0 = ow * strideWidth - g.padInfo.left;
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * outChannels;
        for (let fh = 0; fh < filterHeight; fh++) {
          const ih = ih0 + fh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          for (let fw = 0; fw < filterWidth; fw++) {
            const iw = iw0 + fw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            const xBase = ((b * inHeight + ih) * inWidth + iw) * c;
            const wBase = (fh * filterWidth + fw) * outChannels;
            for (let ch = 0; ch < c; ch++) {
              const xv = x[xBase + ch] as number;
              for (let k = 0; k < m; k++) acc[wBase + ch * m + k]! += xv * (dy[dyBase + ch * m + k] as number);
            }
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}

/**
 * ∂L/∂x of max pooling: each output pixel's `dy` goes to the first maximum (row-major scan of its
 * window, padding excluded, strict `>` as tfjs's cpu backend) of its window, per channel; windows
 * that share a maximum add up. `x` is `[B, H, W, C]`, `dy` `[B, OH, OW, C]`; returns `[B, H, W, C]`.
 * A window with no finite maximum (all −∞ or NaN) passes no gradient.
 */
export function maxPoolBackpropNHWC(x: Float32Array, dy: Float32Array, g: ConvGeometry): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = g;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = g;
  const acc = new Float64Array(batchSize * inHeight * inWidth * c);
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const ih0 = oh * strideHeight - g.padInfo.top;
      for (let ow = 0; ow < outWidth; ow++) {
        const iw0 = ow * strideWidth - g.padInfo.left;
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * c;
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let at = -1;
          for (let fh = 0; fh < filterHeight; fh++) {
            const ih = ih0 + fh * dilationHeight;
            if (ih < 0 || ih >= inHeight) continue;
            for (let fw = 0; fw < filterWidth; fw++) {
              const iw = iw0 + fw * dilationWidth;
              if (iw < 0 || iw >= inWidth) continue;
              const idx = ((b * inHeight + ih) * inWidth + iw) * c + ch;
              const v = x[idx] as number;
              if (v > best) {
                best = v;
                at = idx;
              }
            }
          }
          if (at >= 0) acc[at]! += dy[dyBase + ch] as number;
        }
      }
    }
  }
  return Float32Array.from(acc);
}
