/**
 * The image centre as a row of `evaluate`'s pointing game: the point every photo gets when nothing
 * is looked at (TorchRay's "center" baseline). On typical photos the object is near the middle, so
 * this row is the bar a method has to clear before its pointing accuracy means anything.
 */
import { pointingGameAccuracy, pointingGameHit } from '@ablation-path/core';
import type { PointingBox } from '@ablation-path/core';

/** The row's name in the table and in results.json. */
export const CENTRE_ROW = 'image centre (baseline)';

/** The centre's outcome on one photo with boxes. */
export interface CentreImageResult {
  /** ((width − 1)/2, (height − 1)/2) of the original photo, in its pixels. */
  readonly point: { readonly x: number; readonly y: number };
  /** The paper's rule: the point lies in a box. */
  readonly hit: boolean;
  /** TorchRay's rule: within `tolerance` pixels of a box. */
  readonly hitTolerant: boolean;
}

/**
 * The centre's point and hits on a photo of `original` size with `boxes`; undefined without boxes
 * (such photos are left out of the pointing game, as for the methods).
 *
 * @example centreResult({ width: 600, height: 400 }, [[170, 15, 415, 305]], 15) // point (299.5, 199.5), hit
 */
export function centreResult(
  original: { readonly width: number; readonly height: number },
  boxes: readonly PointingBox[],
  tolerance: number,
): CentreImageResult | undefined {
  if (boxes.length === 0) return undefined;
  const point = { x: (original.width - 1) / 2, y: (original.height - 1) / 2 };
  return { point, hit: pointingGameHit(point, boxes), hitTolerant: pointingGameHit(point, boxes, { tolerance }) };
}

/** The centre row: accuracies under both rules (null when no photo has boxes). */
export interface CentreSummary {
  readonly method: typeof CENTRE_ROW;
  /** Photos with boxes. */
  readonly images: number;
  readonly pointingPaper: number | null;
  /** 15-pixel tolerance, mean of per-class accuracies (classes: the photos' targets). */
  readonly pointingTorchRay: number | null;
}

/** Summarises the centre's results the way `summarise` does a method's. */
export function summariseCentre(
  perImage: readonly { readonly target: number; readonly centre?: CentreImageResult }[],
): CentreSummary {
  const rows = perImage.flatMap((im) => (im.centre === undefined ? [] : [{ c: im.centre, target: im.target }]));
  return {
    method: CENTRE_ROW,
    images: rows.length,
    pointingPaper: rows.length === 0 ? null : pointingGameAccuracy(rows.map(({ c }) => ({ hit: c.hit }))),
    pointingTorchRay:
      rows.length === 0
        ? null
        : pointingGameAccuracy(
            rows.map(({ c, target }) => ({ hit: c.hitTolerant, class: target })),
            { perClassMean: true },
          ),
  };
}
