/**
 * @ablation-path/image: photos in, pictures out. Load a photo at a model's input size with an
 * explicit resize rule, make baselines, map points and boxes between the photo and the model
 * input, and render saliency maps, paths, threshold masks and score curves — at the photo's own
 * aspect ratio. Uses sharp for decoding, resizing and PNG/JPEG encoding; the math stays in
 * `@ablation-path/core`.
 */
export { resizeTransform, mapPoint, mapBox, describeTransform, RESIZE_RULES } from './resizeTransform.js';
export type { ResizeRule, ResizeTransform, Size, Point, Box, MapDirection } from './resizeTransform.js';
export { loadImage, loadPicture, pictureSize, DEFAULT_RESIZE, DEFAULT_KERNEL } from './loadImage.js';
export type { LoadImageOptions, LoadPictureOptions, LoadedImage, ResizeKernel } from './loadImage.js';
export { encodePng, encodeJpeg, imageBytes } from './encodeImage.js';
export { blurBaseline, colorBaseline, noiseBaseline, DEFAULT_BLUR_SIGMA_FRACTION } from './baselines.js';
export type { BlurBaselineOptions, NoiseBaselineOptions } from './baselines.js';
export { mapToPicture } from './pictureGeometry.js';
export type { PictureGeometry, MappedField } from './pictureGeometry.js';
export { heatColour, heatMap, normalizeSaliency, HEAT_STOPS } from './heatMap.js';
export type { SaliencySign, SaliencyScaleOptions } from './heatMap.js';
export { overlay, saliencyOverlay } from './overlay.js';
export type { OverlayOptions } from './overlay.js';
export { compositeAt, maskImage, pathStrip, stripSteps, STRIP_GAP, OUTSIDE_DIM, OUTSIDE_RGB } from './pathPictures.js';
export type { PathStripOptions } from './pathPictures.js';
export { thresholdFigure, maskContour, CONTOUR_RGB, THRESHOLD_DIM } from './thresholdFigure.js';
export type { ThresholdFigureOptions } from './thresholdFigure.js';
export { scoresSvg, plotX, plotY, SCORES_SVG_SIZE, SCORES_PLOT_AREA } from './scoresSvg.js';
export type { ScoresPlot } from './scoresSvg.js';
