import { AblationPathError, CapabilityError, InvalidModelError } from '@ablation-path/core';

/**
 * Turns tfjs's untyped "cannot differentiate / cannot run" errors into {@link CapabilityError}s that
 * name the op, the backend and what to do; returns any other error unchanged. Internal.
 */
export function translateTfjsError(e: unknown, backend: string, phase: 'forward pass' | 'gradient'): unknown {
  if (e instanceof AblationPathError || !(e instanceof Error)) return e;
  const noGrad = /gradient function not found for (\w+)/.exec(e.message);
  if (noGrad !== null) {
    const op = noGrad[1] as string;
    const error = new CapabilityError(
      `cannot differentiate op ${op} on tfjs backend '${backend}': tfjs has no gradient function registered for it. ` +
        `If gradients are registered at all (import '@tensorflow/tfjs' or '@tensorflow/tfjs-layers' registers tfjs-core's), ` +
        `this op is not differentiable in tfjs: rewrite the model without it, or use a gradient-free method.`,
    );
    error.cause = e;
    return error;
  }
  // tfjs's gradient functions assert what they support, e.g. "Error in gradient of conv2D: dilation
  // rates greater than 1 are not yet supported in gradients. Got dilations '2'"
  const limited = /Error in gradient of (\w+): ([^]*)/.exec(e.message);
  if (limited !== null) {
    const op = limited[1] as string;
    const error = new CapabilityError(
      `cannot differentiate op ${op} on tfjs backend '${backend}' with these attributes: ${(limited[2] as string).trim()} ` +
        `(a limitation of tfjs's gradient for ${op}): rewrite the model without it, or use a gradient-free method.`,
    );
    error.cause = e;
    return error;
  }
  const noKernel = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(e.message);
  if (noKernel !== null) {
    const op = noKernel[1] as string;
    const on = noKernel[2] as string;
    const error = new CapabilityError(
      `tfjs backend '${on}' has no kernel for op ${op}, which the ${phase} needs; ` +
        `run this classifier on another backend (option backend: 'cpu', or 'tensorflow' with @tensorflow/tfjs-node), ` +
        `or register a kernel for it with tf.registerKernel`,
    );
    error.cause = e;
    return error;
  }
  if (/executeAsync\(\)/.test(e.message)) {
    return new InvalidModelError(
      `this graph model has dynamic (control-flow) ops that only model.executeAsync() runs, but gradients need synchronous execution: ${e.message}`,
      { cause: e },
    );
  }
  return e;
}
