/**
 * The errors the model raises for bad input, so callers can tell a user mistake (a wrong file,
 * an id out of range) from a bug. Each message names the culprit: the tensor, the config key,
 * the sequence and position.
 */

/** config.json is missing a key, has a wrong value, or describes a model we do not run. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A tensor the model needs is missing, has the wrong shape or dtype, or contradicts the config. */
export class WeightsError extends Error {
  override readonly name = 'WeightsError';
  constructor(
    message: string,
    readonly tensor?: string,
  ) {
    super(message);
  }
}

/** The input to a forward pass is invalid: empty batch, id out of range, bad mask, too long. */
export class InputError extends Error {
  override readonly name = 'InputError';
}
