/**
 * The `summary.json` format of `explain` (docs/cli.md, "Output"): one explanation's numbers, written
 * to `OUT/<image>/summary.json`, embedded in its report, and (with a `report` key added) one line of
 * results.jsonl, `--json`'s stdout and the run log. Keys are written in the order declared here.
 */
import type { OptimizationGradientAt, OptimizationSelection, OptimizationStopReason } from '@ablation-path/core';
import type { ResizeRule } from '@ablation-path/image';
import type { ModelPreprocessing } from './model.js';
import type { InitChoice } from './warmStart.js';

/** `format` of every summary.json (how `explain` recognises a result folder of its own). */
export const SUMMARY_FORMAT = 'ablation-path/summary';

/** A width and a height, in pixels. */
export interface Size {
  readonly width: number;
  readonly height: number;
}

/** A point in pixels (0-based, x to the right, y down). */
export interface PixelPoint {
  readonly x: number;
  readonly y: number;
}

/** One explanation's summary.json. */
export interface ExplainSummary {
  readonly format: typeof SUMMARY_FORMAT;
  /** 1; grows when a key changes meaning or disappears. */
  readonly formatVersion: 1;
  readonly image: {
    /** The photo as given on the command line. */
    readonly path: string;
    /** Its result folder's name under OUT. */
    readonly stem: string;
    readonly originalSize: Size;
    /** The model's input size. */
    readonly inputSize: Size;
    /** The report's pictures: the photo at its own aspect ratio, longer side ≤ 448. */
    readonly pictureSize: Size;
    readonly resize: {
      readonly rule: ResizeRule;
      /** The photo's size once scaled. */
      readonly resized: Size;
      /** Where the scaled photo lies in the input (negative = cropped). */
      readonly offset: PixelPoint;
      readonly kernel: string;
      readonly description: string;
    };
  };
  readonly model: {
    /** The bundled name or the path given. */
    readonly name: string;
    /** The file read. */
    readonly path: string;
    readonly format: 'onnx' | 'tfjs';
    readonly bundled: boolean;
    readonly description: string;
    readonly classes: number;
    readonly inputSize: Size;
    /** Resolved by the core's rule, one value per channel. */
    readonly preprocessing: ModelPreprocessing;
    readonly layout: 'NCHW' | 'NHWC' | 'auto';
    readonly output: 'logits' | 'probabilities' | 'auto';
  };
  readonly target: {
    readonly index: number;
    readonly label: string;
    /** `--target` as given (default `top1`). */
    readonly rule: string;
    readonly topClass: { readonly index: number; readonly label: string; readonly probability: number };
  };
  readonly baseline: { readonly spec: string; readonly description: string };
  /** F(x0), the target's probability on the photo. */
  readonly fx0: number;
  /** F(x1), on the baseline. */
  readonly fx1: number;
  /** The soft P of the returned path (trapezoid rule over `scores`). */
  readonly score: number;
  /** What `score` and `hardScore` are, in words. */
  readonly scoreNote: string;
  /** P of the §4.2 path of the returned path's switch-time map. */
  readonly hardScore: number;
  readonly selection: OptimizationSelection;
  /** The iteration whose path is returned (0 = the start). */
  readonly bestIteration: number;
  readonly init: { readonly start: InitChoice; readonly evaluations: number; readonly seconds: number };
  readonly threshold: {
    readonly step: number;
    readonly time: number;
    /** ∫ mask dμ of the threshold mask. */
    readonly maskArea: number;
    readonly found: boolean;
    readonly rule: string;
  };
  readonly pointingGame: {
    readonly step: number;
    readonly time: number;
    /** In model-input pixels. */
    readonly x: number;
    readonly y: number;
    /** The same point in the photo's pixels. */
    readonly original: PixelPoint;
    /** The units of `x`, `y` and `original`, in words. */
    readonly note: string;
  };
  readonly iterations: number;
  readonly stopReason: OptimizationStopReason;
  /** Model evaluations (images), the warm start's included. */
  readonly evaluations: number;
  readonly wallTimeSeconds: number;
  /** User + system CPU time of the process (all threads) over the same span as the wall time. */
  readonly cpuSeconds: number;
  /** F(t_k) for k = 0..T. */
  readonly scores: readonly number[];
  /** Every option used, defaults filled in. */
  readonly options: {
    readonly model: string;
    readonly baseline: string;
    readonly resize: ResizeRule;
    readonly target: string;
    readonly steps: number;
    /** σ of the optimiser's smoothing, in `sigmaUnits`. */
    readonly sigma: number;
    readonly sigmaUnits: 'model-input pixels';
    readonly maxIterations: number;
    readonly minIterations: number;
    /** `--gradient`: where the optimiser evaluated the model (`gradientAt` of optimizeAblationPath). */
    readonly gradientAt: OptimizationGradientAt;
    readonly saturationStop: number;
    readonly seed: number;
    readonly init: InitChoice;
    /** `--batch-size`, null when not given (the adapter's default). */
    readonly batchSize: number | null;
    readonly frames: number;
    readonly preprocessing: ModelPreprocessing;
  };
  /** Versions of the CLI, Node.js and the runtimes loaded. */
  readonly versions: Readonly<Record<string, string>>;
  /** The files of the result folder. */
  readonly files: readonly string[];
}

/** A summary as one line of results.jsonl, `--json`'s stdout and the run log: with its report's path. */
export interface ExplainSummaryLine extends ExplainSummary {
  readonly report: string;
}
