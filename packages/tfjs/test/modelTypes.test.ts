/**
 * The structural model types stand in for tfjs-layers' LayersModel and tfjs-converter's
 * GraphModel in this package's public declarations (both packages are optional peers). The
 * assignments below are checked by `tsc -p tsconfig.json` (the package's typecheck): if a real
 * model stopped being assignable, the typecheck fails. At run time: a real layers model and a real
 * graph model loaded from disk satisfy the members the adapter reads.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import type { TfjsGraphModel, TfjsLayersModel, TfjsModel } from '../src/index.js';

// compile-time: real models are accepted where the structural types are expected
export function acceptsLayers(m: LayersModel): TfjsLayersModel & TfjsModel {
  return m;
}
export function acceptsGraph(m: GraphModel): TfjsGraphModel & TfjsModel {
  return m;
}

describe('structural tfjs model types', () => {
  it('a real LayersModel has the members TfjsLayersModel declares', async () => {
    await tf.setBackend('cpu');
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 2, activation: 'softmax' })] });
    const m: TfjsLayersModel = acceptsLayers(model);
    expect(m.layers).toHaveLength(1);
    expect(m.layers[0]?.getClassName()).toBe('Dense');
    expect(m.inputs[0]?.shape).toEqual([null, 3]);
    expect(m.outputs).toHaveLength(1);
    const y = m.apply(tf.ones([1, 3]), { training: false }) as tf.Tensor;
    expect(y.shape).toEqual([1, 2]);
    y.dispose();
    m.dispose();
  });
});
