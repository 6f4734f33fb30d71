/**
 * Errors of the model resolver and downloader. Each message says which file is missing or
 * wrong, where it was looked for or fetched from, and where to put it by hand.
 */

/** A model could not be found, downloaded or verified. */
export class HubError extends Error {
  override readonly name: string = 'HubError';
}

/** A downloaded file does not have the size or sha256 the manifest gives (nothing was kept). */
export class ChecksumError extends HubError {
  override readonly name = 'ChecksumError';
}
