import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { bundledModel } from '@ablation-path/assets';
import { OptionError } from '@ablation-path/core';
import { describe, expect, it } from 'vitest';
import { createOnnxClassifier } from '../src/index.js';
import { loadFixture } from './fixtureData.js';
import { buildModel, head } from './tinyModels.js';

const tiny = loadFixture('tiny_cnn');

async function rejection(
  p: Promise<unknown>,
): Promise<{ code?: string; name?: string; message: string; ops?: { opType: string; node: string }[] }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

describe('errors', () => {
  it('one UnsupportedOpError lists every offending node, before anything runs', async () => {
    const hd = head('y', 3 * 4 * 4, 3, 1);
    const bytes = buildModel({
      input: ['N', 3, 4, 4],
      nodes: [
        { op: 'Sin', inputs: ['x'], outputs: ['a'], name: 'first_sin' },
        { op: 'Relu', inputs: ['a'], outputs: ['b'] },
        { op: 'Atan', inputs: ['b'], outputs: ['c'], name: 'the_atan' },
        { op: 'Sin', inputs: ['c'], outputs: ['y'], name: 'second_sin' },
        // not on the input→output path: must not be reported
        { op: 'Cos', inputs: ['__W'], outputs: ['unused'], name: 'dead_cos' },
        ...hd.nodes,
      ],
      initializers: hd.initializers,
      output: 'logits',
      outputDims: ['N', 3],
    });
    const e = await rejection(createOnnxClassifier(bytes));
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.name).toBe('UnsupportedOpError');
    expect(e.ops?.map((o) => `${o.opType}:${o.node}`)).toEqual(['Sin:second_sin', 'Atan:the_atan', 'Sin:first_sin']);
    expect(e.message).toContain('Sin, Atan');
    expect(e.message).toContain('first_sin');
    expect(e.message).toContain('the_atan');
    expect(e.message).not.toContain('dead_cos');
    // predict-only use of the same model is allowed
    const c = await createOnnxClassifier(bytes, { gradient: false });
    expect(c.gradient).toBeUndefined();
    const p = await c.predict({ data: new Float32Array(2 * 48).fill(0.3), count: 2, height: 4, width: 4, channels: 3 });
    expect(p.length).toBe(6);
    await c.dispose();
  });

  it('the one UnsupportedOpError also lists nodes whose problem needs shapes or constants (ReduceL2 reducing nothing), upstream or downstream of an op without rule', async () => {
    // ReduceL2 with no axes and noop_with_empty_axes = 1 (opset 18: whether axes are empty is only
    // known from the constant axes input, in the reverse pass) and an op without rule (Atan), in both orders
    for (const reduceFirst of [true, false]) {
      const hd = head('y', 3 * 4 * 4, 3, 1);
      const reduce = {
        op: 'ReduceL2',
        inputs: [reduceFirst ? 'x' : 'e'],
        outputs: [reduceFirst ? 's' : 'y'],
        attrs: { noop_with_empty_axes: 1 },
        name: 'empty_reduce',
      };
      const atan = {
        op: 'Atan',
        inputs: [reduceFirst ? 's' : 'x'],
        outputs: [reduceFirst ? 'y' : 'e'],
        name: 'no_rule_atan',
      };
      const bytes = buildModel({
        opset: 18,
        input: ['N', 3, 4, 4],
        nodes: [...(reduceFirst ? [reduce, atan] : [atan, reduce]), ...hd.nodes],
        initializers: hd.initializers,
        output: 'logits',
        outputDims: ['N', 3],
      });
      const e = await rejection(createOnnxClassifier(bytes));
      expect(e.code, `reduce first: ${reduceFirst}`).toBe('UNSUPPORTED_OP');
      expect(e.ops?.map((o) => `${o.opType}:${o.node}`).sort(), `reduce first: ${reduceFirst}`).toEqual([
        'Atan:no_rule_atan',
        'ReduceL2:empty_reduce',
      ]);
      expect(e.message).toMatch(/ReduceL2 "empty_reduce" \(empty axes with noop_with_empty_axes = 1/);
    }
  });

  it('a second, non-image model input is an INVALID_MODEL error naming it (the classifier cannot feed it)', async () => {
    const hd = head('y', 3 * 4 * 4, 3, 1);
    const bytes = buildModel({
      input: ['N', 3, 4, 4],
      nodes: [{ op: 'Mul', inputs: ['x', 'temperature'], outputs: ['y'] }, ...hd.nodes],
      initializers: hd.initializers,
      output: 'logits',
      outputDims: ['N', 3],
    });
    const model = onnxProto.onnx.ModelProto.decode(bytes);
    model.graph?.input?.push({
      name: 'temperature',
      type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }] } } },
    });
    const twoInputs = onnxProto.onnx.ModelProto.encode(model).finish();
    expect((await rejection(createOnnxClassifier(twoInputs))).code).toBe('INVALID_OPTION');
    const e = await rejection(createOnnxClassifier(twoInputs, { inputName: 'x' }));
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toContain('(temperature), which the classifier cannot feed');
  });

  it('a MaxPool whose windows overlap only through its dilation needs opset ≥ 16, like any overlapping MaxPool', async () => {
    const hd = head('y', 2 * 4 * 4, 3, 1);
    const bytes = buildModel({
      opset: 12,
      input: ['N', 2, 9, 9],
      nodes: [
        {
          op: 'MaxPool',
          inputs: ['x'],
          outputs: ['y'],
          attrs: { kernel_shape: [2, 2], strides: [2, 2], dilations: [2, 2] },
          name: 'dilated_pool',
        },
        ...hd.nodes,
      ],
      initializers: hd.initializers,
      output: 'logits',
      outputDims: ['N', 3],
    });
    const e = await rejection(createOnnxClassifier(bytes, { layout: 'NCHW' }));
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.message).toMatch(
      /MaxPool "dilated_pool" \(overlapping windows need ScatterElements with reduction \(opset ≥ 16\), the model has opset 12\)/,
    );
  });

  it('a Resize with antialias = 1 on the path is reported with its reason', async () => {
    const hd = head('y', 3 * 2 * 2, 2, 1);
    const bytes = buildModel({
      opset: 18,
      input: ['N', 3, 4, 4],
      nodes: [
        {
          op: 'Resize',
          inputs: ['x', '', 'scales'],
          outputs: ['y'],
          attrs: { mode: 'linear', antialias: 1 },
          name: 'aa',
        },
        ...hd.nodes,
      ],
      initializers: [{ name: 'scales', dims: [4], values: [1, 1, 0.5, 0.5] }, ...hd.initializers],
      output: 'logits',
      outputDims: ['N', 2],
    });
    const e = await rejection(createOnnxClassifier(bytes));
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.message).toMatch(/Resize "aa" \(antialias = 1 is not supported\)/);
  });

  it('a file that is not ONNX is an INVALID_MODEL error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ap-onnx-'));
    const path = join(dir, 'model.onnx');
    writeFileSync(path, '{"this": "is JSON, not a protobuf model"}\n');
    const e = await rejection(createOnnxClassifier(path));
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toContain(path);
    const e2 = await rejection(createOnnxClassifier(new Uint8Array([1, 2, 3, 4, 5])));
    expect(e2.code).toBe('INVALID_MODEL');
  });

  it('a missing file is a MISSING_FILE error naming the path', async () => {
    const e = await rejection(createOnnxClassifier('/nonexistent/dir/model.onnx'));
    expect(e.code).toBe('MISSING_FILE');
    expect(e.message).toContain('/nonexistent/dir/model.onnx');
  });

  it('a model whose input is not a rank-4 image is a SHAPE_MISMATCH error', async () => {
    const bytes = buildModel({
      input: ['N', 12],
      nodes: [{ op: 'Gemm', inputs: ['x', 'W'], outputs: ['logits'], attrs: { transB: 1 } }],
      initializers: [{ name: 'W', dims: [3, 12], values: new Array<number>(36).fill(0.1) }],
      output: 'logits',
      outputDims: ['N', 3],
    });
    const e = await rejection(createOnnxClassifier(bytes));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toMatch(/rank 2; expected a rank-4 image input/);
  });

  it('an input whose layout cannot be inferred asks for options.layout', async () => {
    const hd = head('x', 5 * 5 * 5, 2, 1);
    const bytes = buildModel({
      input: ['N', 5, 5, 5],
      nodes: hd.nodes,
      initializers: hd.initializers,
      output: 'logits',
      outputDims: ['N', 2],
    });
    const e = await rejection(createOnnxClassifier(bytes));
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.message).toContain('options.layout');
    const c = await createOnnxClassifier(bytes, { layout: 'NHWC' });
    expect(c.inputShape).toEqual({ height: 5, width: 5, channels: 5 });
    await c.dispose();
  });

  it('an explicit layout that contradicts the input shape is an INVALID_OPTION error naming the layout the shape suggests', async () => {
    // The bundled MobileNet v1 takes [batch, 3, 224, 224]: 'NHWC' would read 224 channels of 3×224
    // pixels (this used to fail only on the length of preprocessing.mean).
    const m = bundledModel('mobilenet-v1-025');
    for (const preprocessing of [m.preprocessing, undefined]) {
      const e = await rejection(
        createOnnxClassifier(m.path, { layout: 'NHWC', ...(preprocessing ? { preprocessing } : {}) }),
      );
      expect(e.code).toBe('INVALID_OPTION');
      expect(e).toBeInstanceOf(OptionError);
      expect(e.message).toContain("layout 'NHWC' contradicts the model's input shape [batch, 3, 224, 224]");
      expect(e.message).toContain('its channel axis (axis 3) would hold 224 channels');
      expect(e.message).toContain("the shape suggests 'NCHW' (3 channels, 224×224 pixels)");
    }
    const grey = (input: (number | string)[]): Uint8Array => {
      const hd = head('x', 36, 2, 3);
      return buildModel({
        input,
        nodes: hd.nodes,
        initializers: hd.initializers,
        output: 'logits',
        outputDims: ['N', 2],
      });
    };
    // one channel: 'NHWC' on [N, 1, 6, 6] would silently have read a 1×6 image with 6 channels
    const e1 = await rejection(createOnnxClassifier(grey(['N', 1, 6, 6]), { layout: 'NHWC' }));
    expect(e1.code).toBe('INVALID_OPTION');
    expect(e1.message).toContain("layout 'NHWC' contradicts the model's input shape [N, 1, 6, 6]");
    expect(e1.message).toContain("suggests 'NCHW' (1 channel, 6×6 pixels)");
    const e2 = await rejection(createOnnxClassifier(grey(['N', 6, 6, 1]), { layout: 'NCHW' }));
    expect(e2.code).toBe('INVALID_OPTION');
    expect(e2.message).toContain("layout 'NCHW' contradicts the model's input shape [N, 6, 6, 1]");
    expect(e2.message).toContain("suggests 'NHWC' (1 channel, 6×6 pixels)");
    // a dynamic axis where the layout puts the channels
    const e3 = await rejection(createOnnxClassifier(grey(['N', 3, 'H', 'W']), { layout: 'NHWC', inputSize: [6, 6] }));
    expect(e3.code).toBe('INVALID_OPTION');
    expect(e3.message).toContain("layout 'NHWC' contradicts the model's input shape [N, 3, H, W]");
    expect(e3.message).toContain("suggests 'NCHW'");
  });

  it('an explicit layout is checked against preprocessing and inputSize where both channel counts are plausible', async () => {
    const model = (input: (number | string)[], size: number): Uint8Array => {
      const hd = head('x', size, 2, 4);
      return buildModel({
        input,
        nodes: hd.nodes,
        initializers: hd.initializers,
        output: 'logits',
        outputDims: ['N', 2],
      });
    };
    // [N, 1, 5, 3]: NCHW = one 5×3 channel, NHWC = 1×5 RGB; three means only fit NHWC
    const a = model(['N', 1, 5, 3], 15);
    const preprocessing = { mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2] };
    const e = await rejection(createOnnxClassifier(a, { layout: 'NCHW', preprocessing }));
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.message).toContain("layout 'NCHW' contradicts the model's input shape [N, 1, 5, 3]");
    expect(e.message).toContain('preprocessing.mean has 3 values but its channel axis (axis 1) would hold 1');
    expect(e.message).toContain("suggests 'NHWC' (3 channels, 1×5 pixels)");
    const rgb = await createOnnxClassifier(a, { layout: 'NHWC', preprocessing });
    expect(rgb.inputShape).toEqual({ height: 1, width: 5, channels: 3 });
    await rgb.dispose();
    const grey = await createOnnxClassifier(a, { layout: 'NCHW' });
    expect(grey.inputShape).toEqual({ height: 5, width: 3, channels: 1 });
    await grey.dispose();
    // [N, 3, H, 3]: NCHW = RGB H×3, NHWC = RGB 3×H; inputSize 8×3 only fits NCHW
    const b = model(['N', 3, 'H', 3], 72);
    const e2 = await rejection(createOnnxClassifier(b, { layout: 'NHWC', inputSize: [8, 3] }));
    expect(e2.code).toBe('INVALID_OPTION');
    expect(e2.message).toContain("layout 'NHWC' contradicts the model's input shape [N, 3, H, 3]");
    expect(e2.message).toContain('inputSize 8×3 but its spatial size would be 3×?');
    expect(e2.message).toContain("suggests 'NCHW' (3 channels, ?×3 pixels)");
    const ok = await createOnnxClassifier(b, { layout: 'NCHW', inputSize: [8, 3] });
    expect(ok.inputShape).toEqual({ height: 8, width: 3, channels: 3 });
    await ok.dispose();
  });

  it('an explicit layout for a shape that fits both is taken as given', async () => {
    const hd = head('x', 27, 2, 5);
    const bytes = buildModel({
      input: ['N', 3, 3, 3],
      nodes: hd.nodes,
      initializers: hd.initializers,
      output: 'logits',
      outputDims: ['N', 2],
    });
    for (const layout of ['NCHW', 'NHWC'] as const) {
      const c = await createOnnxClassifier(bytes, { layout, preprocessing: { mean: [0.1, 0.2, 0.3] } });
      expect(c.layout).toBe(layout);
      expect(c.inputShape).toEqual({ height: 3, width: 3, channels: 3 });
      await c.dispose();
    }
  });

  it('a batch of the wrong size is a SHAPE_MISMATCH error saying what was expected', async () => {
    const c = await createOnnxClassifier(tiny.modelPath);
    try {
      const bad = { data: new Float32Array(2 * 16 * 32 * 3), count: 2, height: 16, width: 32, channels: 3 };
      const e = await rejection(c.predict(bad));
      expect(e.code).toBe('SHAPE_MISMATCH');
      expect(e.message).toContain('expects 32×32×3');
      const e2 = await rejection(c.gradient!(bad, 0));
      expect(e2.code).toBe('SHAPE_MISMATCH');
      const wrongLength = { data: new Float32Array(10), count: 2, height: 32, width: 32, channels: 3 };
      expect((await rejection(c.predict(wrongLength))).code).toBe('SHAPE_MISMATCH');
    } finally {
      await c.dispose();
    }
  });

  it('targets out of range, or of the wrong count, are rejected', async () => {
    const c = await createOnnxClassifier(tiny.modelPath);
    try {
      const batch = { ...tiny.batch };
      expect((await rejection(c.gradient!(batch, 10))).code).toBe('TARGET_OUT_OF_RANGE');
      expect((await rejection(c.gradient!(batch, -1))).code).toBe('TARGET_OUT_OF_RANGE');
      expect((await rejection(c.gradient!(batch, 1.5))).code).toBe('TARGET_OUT_OF_RANGE');
      expect((await rejection(c.gradient!(batch, Int32Array.from([0, 1, 2, 10])))).code).toBe('TARGET_OUT_OF_RANGE');
      expect((await rejection(c.gradient!(batch, Int32Array.from([0, 1])))).code).toBe('SHAPE_MISMATCH');
    } finally {
      await c.dispose();
    }
  });

  it('bad options are INVALID_OPTION errors', async () => {
    for (const options of [
      { batchSize: 0 },
      { intraOpNumThreads: 1.5 },
      { inputName: 'nope' },
      { outputName: 'nope' },
      { layout: 'CHW' as 'NCHW' },
      { preprocessing: { mean: [0.5, 0.5] } },
      { preprocessing: { std: 0 } },
      { output: 'scores' as 'logits' },
      { threadSpinning: 'yes' as unknown as boolean },
    ]) {
      const e = await rejection(createOnnxClassifier(tiny.modelPath, options));
      expect(e.code, JSON.stringify(options)).toBe('INVALID_OPTION');
    }
  });

  it('a disposed classifier refuses predict and gradient with MISSING_CAPABILITY (as the tfjs adapter); dispose is idempotent', async () => {
    const c = await createOnnxClassifier(tiny.modelPath);
    await c.dispose();
    await c.dispose();
    const e = await rejection(c.predict(tiny.batch));
    expect(e.code).toBe('MISSING_CAPABILITY');
    expect(e.message).toContain('disposed');
    expect((await rejection(c.gradient!(tiny.batch, 0))).code).toBe('MISSING_CAPABILITY');
  });
});
