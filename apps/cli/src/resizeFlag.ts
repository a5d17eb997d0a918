/**
 * The `--resize` flag of `explain`, `evaluate` and `demo`: how a photo is fitted to the model's
 * input size (see `@ablation-path/image`'s `resizeTransform` and docs/image.md).
 */
import { DEFAULT_RESIZE, RESIZE_RULES } from '@ablation-path/image';
import type { ResizeRule } from '@ablation-path/image';
import { CliError } from './cliError.js';

/** The default rule: `center-crop`, torchvision's and timm's evaluation convention (docs/decisions.md). */
export const CLI_DEFAULT_RESIZE: ResizeRule = DEFAULT_RESIZE;

/** Help lines of `--resize`. */
export const resizeFlagHelp = `  --resize R             how a photo is fitted to the model's input size: center-crop (scale
                         the shorter side to the input, cut out the centre: the torchvision/timm
                         evaluation rule), letterbox (scale the longer side, pad with black:
                         nothing lost), or squash (the whole photo, aspect ratio changed; the
                         CLI's only rule before --resize existed) (default ${CLI_DEFAULT_RESIZE});
                         resampling is always bilinear (sharp's linear kernel)`;

/**
 * Parses `--resize`: undefined gives the default; anything but a rule name is a usage error.
 * @example parseResize('letterbox') // 'letterbox'
 */
export function parseResize(raw: string | undefined): ResizeRule {
  if (raw === undefined) return CLI_DEFAULT_RESIZE;
  const rule = RESIZE_RULES.find((r) => r === raw);
  if (rule === undefined)
    throw new CliError('usage', `--resize must be one of ${RESIZE_RULES.join(', ')}, got '${raw}'`);
  return rule;
}
